"""VAE variants: mixture-of-Gaussians and VampPrior priors, a constant posterior variance, and the
local mixture likelihood on whole images (PixelVAE-like).

Each trains (a few steps on a tiny batch lower its objective) and is really coded
(exact round trips, and a rate at its negative ELBO: the mixture priors go through
nested bits-back, bbvae.coder.MixturePrior).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from helpers import TINY, blob_images, model_inputs, one_torch_thread, trained

from bbvae.codecs.images import VAECodec
from bbvae.coder import Message
from bbvae.format.precisions import Precisions
from bbvae.models.vae import VAE, ModelConfig, Objective

VARIANTS = {
    "mog prior": dict(prior="mog", prior_components=3),
    "vamp prior": dict(prior="vamp", prior_components=4),
    "constant posterior": dict(posterior="constant"),
    "mog prior, constant posterior": dict(prior="mog", prior_components=2, posterior="constant"),
    "logistic mixture likelihood": dict(mixture=3),
    "local mixture likelihood": dict(mixture=3, local_hidden=8, local_neighbours=6),
    "local single logistic": dict(local_hidden=8, local_neighbours=6),
    "local mixture, ten neighbours": dict(mixture=2, local_hidden=8, local_neighbours=10),
    "local mixture, three layers": dict(mixture=2, local_hidden=8, local_neighbours=6, local_layers=3),
    "local mixture, cheapest networks": dict(mixture=2, local_hidden=8, local_neighbours=6, blocks=0, output_kernel=1),
    "floating prior (BILB)": dict(prior="floating", posterior="constant"),
}
TRAINED_WITH = {"floating prior (BILB)": Objective(batch_prior=True)}  # the others: the ELBO


def train_with_cli(folder, out, *options):
    """`bbvae train` for one epoch of a tiny model on a folder of blob images, with extra options."""
    from helpers import run_cli

    run = run_cli("train", "--dataset", str(folder), "--out", str(out), "--epochs", "1", "--batch-size", "4",
                  "--latent", "3", "--hidden", "8", "--blocks", "1", "--threads", "1", "--quiet", *options)
    assert run.returncode == 0, run.stderr


def assert_refused(result, reason: str):
    """A one-line error naming the reason, status 1, no traceback."""
    assert result.returncode == 1 and reason in result.stderr and "Traceback" not in result.stderr, result.stderr


@pytest.mark.parametrize("name", VARIANTS)
def test_a_few_steps_lower_the_objective(name):
    _, before, after = trained(VARIANTS[name], steps=40, objective=TRAINED_WITH.get(name, Objective()))
    assert after < before - 0.1, (before, after)


@pytest.mark.parametrize("name", VARIANTS)
def test_round_trip_and_rate_at_the_negative_elbo(name):
    model, _, _ = trained(VARIANTS[name], steps=40, objective=TRAINED_WITH.get(name, Objective()))
    assert_codes_at_its_elbo(model)


def assert_codes_at_its_elbo(model: VAE):
    """120 images round-trip exactly, in bits/dim within 2% of the model's negative ELBO (mean of 20 samples)."""
    images = blob_images(120, size=TINY.height, seed=5)
    codec = VAECodec(model, Precisions(10, 28, 24), group_size=32)
    data = codec.encode(images).to_bytes()
    np.testing.assert_array_equal(codec.decode(Message.from_bytes(data), len(images)), images)
    with torch.no_grad():
        torch.manual_seed(2)
        x = model_inputs(model, images)
        elbo = np.mean([model.negative_elbo_bpd(x).mean().item() for _ in range(20)])
    coded = 8 * len(data) / images.size
    assert abs(coded - elbo) < 0.02 * elbo + 0.02, (coded, elbo)


def test_a_mixture_prior_far_from_the_origin_codes_at_its_elbo():
    """The same model with every latent moved by +8 (prior, encoder and decoder alike) has the same ELBO;
    the coder standardises latents by the mixture's moments, so N(0, 1)'s coarse tail bins do not hurt."""
    model, _, _ = trained(VARIANTS["mog prior"], steps=40)
    offset = 8.0
    with torch.no_grad():
        model.prior.means += offset
        latent = model.cfg.latent
        model.encoder.head.bias[:latent] += offset
        model.decoder.head.bias -= offset * model.decoder.head.weight.sum(1)
    assert_codes_at_its_elbo(model)


def test_bilb_is_the_elbo_against_the_batch_prior():
    """The batch's mean KL is 0.5 sum log(S^2 / Sigma); evaluation and coding use the stored S^2, and
    whitening by S leaves the ELBO under N(0, S^2) unchanged."""
    torch.manual_seed(0)
    model = VAE(dataclasses.replace(TINY, **VARIANTS["floating prior (BILB)"]))
    x = torch.from_numpy(blob_images(64, size=TINY.height))
    dims_nats = TINY.channels * TINY.height * TINY.width * np.log(2)
    with torch.no_grad():
        torch.manual_seed(1)
        bilb = model.bilb_bpd(x).mean().item()
        mean, log_std = model.encoder(x)
        prior_var = torch.exp(2 * log_std[0]) + mean.pow(2).mean(0)
        torch.manual_seed(1)
        z = mean + torch.exp(log_std) * torch.randn_like(mean)
        log_px = model.log_px(x, model.decoder(z)).mean().item()
        kl = 0.5 * torch.log(prior_var / torch.exp(2 * log_std[0])).sum().item()
        assert bilb == pytest.approx((kl - log_px) / dims_nats, rel=1e-5)
        assert not torch.allclose(model.prior_var, torch.ones(TINY.latent))  # training mode moved the stored prior
        model.prior_var.copy_(prior_var)
        model.eval()
        torch.manual_seed(1)
        elbo = model.negative_elbo_bpd(x).mean().item()  # the same prior, now fixed: the same value
    assert elbo == pytest.approx(bilb, rel=1e-4)


def test_config_checks():
    with pytest.raises(ValueError):
        ModelConfig(prior="mog")  # no components
    with pytest.raises(ValueError):
        ModelConfig(prior="normal", prior_components=3)
    with pytest.raises(ValueError):
        ModelConfig(prior="flow", prior_components=2)
    with pytest.raises(ValueError):
        ModelConfig(posterior="fixed")
    with pytest.raises(ValueError):
        ModelConfig(prior="floating")  # BILB's prior needs the constant posterior variance
    with pytest.raises(ValueError):
        ModelConfig(prior="two-stage")  # no second latent
    with pytest.raises(ValueError):
        ModelConfig(channels=3, height=8, width=8, mixture=2, local_neighbours=6, prior="mog", prior_components=2)
    for neighbours in (-1, 11):
        with pytest.raises(ValueError, match="local_neighbours"):
            ModelConfig(mixture=2, local_neighbours=neighbours)
    assert ModelConfig.from_dict(ModelConfig(prior="vamp", prior_components=5).to_dict()).prior_components == 5
    for layers in (0, 5):
        with pytest.raises(ValueError, match="local_layers"):
            ModelConfig(mixture=2, local_layers=layers)
    old = ModelConfig.from_dict({"mixture": 2})  # model files from before the options
    assert (old.local_neighbours, old.local_layers) == (6, 1)
    plain = ModelConfig.from_dict({"mixture": 0, "local_neighbours": 6})  # `mixture` 0 meant one logistic, no neighbours
    assert (plain.mixture, plain.local) == (1, False)


def test_mixture_and_neighbours_are_independent_choices():
    """Each pair picks one registered likelihood; the shipped models keep theirs."""
    from bbvae.models.likelihoods import LIKELIHOODS, likelihood_for
    from bbvae.models.modelfile import load_model

    picked = {(k, n): likelihood_for(ModelConfig(mixture=k, local_neighbours=n)).name for k in (1, 3) for n in (0, 6)}
    assert picked == {(1, 0): "logistic", (3, 0): "logistic-mixture", (1, 6): "local-mixture", (3, 6): "local-mixture"}
    assert set(picked.values()) == set(LIKELIHOODS)
    assert load_model("mnist")[0].likelihood.name == "logistic"
    assert load_model("mnist-local")[0].likelihood.name == load_model("photo")[0].likelihood.name == "local-mixture"


def test_train_records_the_variant_and_the_model_codes(tmp_path):
    from helpers import image_folder, run_cli

    import bbvae
    from bbvae.models.modelfile import load_model

    folder, out = image_folder(tmp_path / "images"), tmp_path / "model"
    train_with_cli(folder, out, "--prior", "vamp", "--prior-components", "2", "--posterior", "constant")
    cfg = load_model(out)[1].config
    assert (cfg.prior, cfg.prior_components, cfg.posterior) == ("vamp", 2, "constant")
    images = blob_images(5)[:, 0]
    np.testing.assert_array_equal(np.stack(bbvae.decompress(bbvae.compress(images, str(out)), str(out))), images)
    refused = run_cli("train", "--dataset", str(folder), "--out", str(tmp_path / "bad"), "--prior", "mog")
    assert_refused(refused, "prior_components")


def test_a_local_whole_image_model_trains_codes_and_evaluates(tmp_path):
    """`--mixture` without `--patch`: a model of whole images whose pixels see their decoded neighbours."""
    from helpers import image_folder, run_cli

    import bbvae
    from bbvae.models.evaluate import evaluate
    from bbvae.models.modelfile import load_model

    folder, out = image_folder(tmp_path / "images"), tmp_path / "model"
    train_with_cli(folder, out, "--mixture", "2", "--local-hidden", "8", "--local-neighbours", "10")
    model, info = load_model(out)
    assert (model.cfg.mixture, model.cfg.local_neighbours) == (2, 10) and not info.config.patches
    images = blob_images(7, seed=3)
    np.testing.assert_array_equal(np.stack(bbvae.decompress(bbvae.compress(images[:, 0], str(out)), str(out))), images[:, 0])
    from bbvae.models.context import images_with_context
    plain, framed = evaluate(model, images, 0)["elbo_bpd"], evaluate(model, images_with_context(images), 0)["elbo_bpd"]
    assert plain == framed  # whole images get their constant margins added
    refused = run_cli("train", "--dataset", str(folder), "--out", str(tmp_path / "bad"), "--patch", "8")
    assert_refused(refused, "--mixture")


def test_the_cheapest_networks_train_and_code_from_the_cli(tmp_path):
    """--blocks 0 and --output-kernel 1: no residual stages, and a decoder whose last layer reads each pixel's own
    features (the digit networks' costliest layer at 3x3)."""
    from helpers import image_folder, run_cli

    import bbvae
    from bbvae.models.modelfile import load_model

    folder, out = image_folder(tmp_path / "images"), tmp_path / "model"
    train_with_cli(folder, out, "--mixture", "2", "--local-hidden", "8", "--blocks", "0", "--output-kernel", "1")
    model, _ = load_model(out)
    assert (model.cfg.blocks, model.cfg.output_kernel) == (0, 1)
    assert model.decoder.features[-1].kernel_size == (1, 1)
    images = blob_images(7, seed=4)[:, 0]
    np.testing.assert_array_equal(np.stack(bbvae.decompress(bbvae.compress(images, str(out)), str(out))), images)
    refused = run_cli("train", "--dataset", str(folder), "--out", str(tmp_path / "bad"), "--output-kernel", "2")
    assert refused.returncode != 0 and "'2' is not one of '1', '3'" in refused.stderr and not (tmp_path / "bad").exists()


def test_compare_rows_keep_their_json_contract(tmp_path):
    import json

    from helpers import image_folder, run_cli

    from bbvae.models.modelfile import save_model

    folder = image_folder(tmp_path / "images", count=150)
    paths = []
    for name, variant in (("plain", {}), ("mog", VARIANTS["mog prior"])):
        model, _, _ = trained(variant, steps=20)
        save_model(tmp_path / name / "model.safetensors", model, {"train_seconds": 60.0})
        paths.append(str(tmp_path / name))
    result = run_cli("compare", *paths, "--dataset", str(folder), "--split", "train", "--limit", "100",
                     "--iwae-samples", "3", "--json",
                     env={"BBVAE_RESULTS": str(tmp_path / "results")})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    rows = summary["rows"]
    assert [row["model"] for row in rows] == paths
    for row in rows:
        assert {"model", "elbo_bpd", "iwae_bpd", "coded_bpd"} <= row.keys()
        assert row["iwae_bpd"] <= row["elbo_bpd"] + 0.05 and abs(row["coded_bpd"] - row["elbo_bpd"]) < 0.1 * row["elbo_bpd"]
    assert (tmp_path / "results" / "compare_images_train_100.json").exists()
    assert (tmp_path / "results" / "compare_images_train_100.png").exists()


def test_iwae_objective_trains_and_lowers_the_bound():
    from bbvae.models.vae import Objective

    torch.manual_seed(0)
    model = VAE(TINY)
    x = torch.from_numpy(blob_images(32, size=TINY.height))

    def bound() -> torch.Tensor:
        torch.manual_seed(1)
        return model(x, None, Objective(iwae_samples=4)).mean()

    with one_torch_thread():
        with torch.no_grad():
            before = bound().item()
            torch.manual_seed(1)
            elbo = model.negative_elbo_bpd(x).mean().item()
        optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
        for _ in range(40):
            optimiser.zero_grad()
            bound().backward()
            optimiser.step()
        with torch.no_grad():
            after = bound().item()
    assert before <= elbo + 0.05 and after < before - 0.1, (elbo, before, after)


def test_kl_warmup_and_free_bits_change_the_path_not_the_end():
    from bbvae.training.train import TrainOptions, objective_at

    opts = TrainOptions(dataset="mnist", out="unused", kl_warmup=2.0, free_bits=0.5)
    assert [objective_at(opts, e).beta for e in (0.0, 1.0, 2.0, 5.0)] == [0.0, 0.5, 1.0, 1.0]
    assert objective_at(TrainOptions(dataset="mnist", out="unused", objective="iwae"), 0.0).iwae_samples == 5
    model = VAE(TINY).eval()
    x = torch.from_numpy(blob_images(16, size=TINY.height))
    with torch.no_grad():
        losses = {}
        for name, kwargs in (("plain", {}), ("beta 0", {"beta": 0.0}), ("free bits", {"free_bits": 5.0})):
            torch.manual_seed(3)
            losses[name] = model.negative_elbo_bpd(x, None, **kwargs).mean().item()
    dims = TINY.channels * TINY.height * TINY.width
    assert losses["beta 0"] < losses["plain"]  # the KL term is positive and switched off
    # every dimension's batch-mean KL is below 5 nats, so each costs exactly 5 nats on top of the same reconstruction
    assert losses["free bits"] == pytest.approx(losses["beta 0"] + 5.0 * TINY.latent / (dims * np.log(2)), rel=1e-5)


def test_two_stage_prior_fits_and_codes_at_its_bound():
    """Dai and Wipf: a second VAE fitted to a trained first stage's latents lowers their bound, and
    nested bits-back through its latent codes at the whole model's negative ELBO."""
    from bbvae.training.two_stage import fit_second_stage, posterior_samples, with_second_stage

    first, _, _ = trained({}, steps=60)
    model = with_second_stage(first, 2)
    means, stds = posterior_samples(first, blob_images(256, size=TINY.height, seed=6))
    with one_torch_thread():
        torch.manual_seed(0)
        bounds = fit_second_stage(model, means, stds, epochs=30, batch_size=32, lr=3e-3, say=lambda _: None)
        z = means + stds * torch.randn_like(means)
        normal_bits = (0.5 * (z.pow(2) + np.log(2 * np.pi))).sum(1).mean().item() / np.log(2)
    assert bounds[-1] < min(bounds[0], normal_bits) - 0.1, (bounds, normal_bits)  # fits z better than N(0, I)
    assert_codes_at_its_elbo(model.eval())


def test_fit_prior_makes_a_two_stage_model_that_codes(tmp_path):
    from helpers import image_folder, run_cli

    import bbvae
    from bbvae.models.modelfile import load_model

    folder, first, second = image_folder(tmp_path / "images", count=60), tmp_path / "first", tmp_path / "second"
    train_with_cli(folder, first)
    fitted = run_cli("fit-prior", str(first), "--dataset", str(folder), "--out", str(second), "--prior-latent", "2",
                     "--epochs", "2", "--batch-size", "8", "--threads", "1")
    assert fitted.returncode == 0, fitted.stderr
    model, info = load_model(second)
    assert (model.cfg.prior, model.cfg.prior_latent) == ("two-stage", 2)
    one, _ = load_model(first)
    for name, value in one.state_dict().items():  # stage one is kept as it was
        assert torch.equal(model.state_dict()[name], value), name
    images = blob_images(9, seed=4)[:, 0]
    np.testing.assert_array_equal(np.stack(bbvae.decompress(bbvae.compress(images, str(second)), str(second))), images)
    refused = run_cli("fit-prior", str(second), "--dataset", str(folder), "--out", str(tmp_path / "third"))
    assert_refused(refused, "normal prior")


def test_train_bilb_records_the_floating_prior(tmp_path):
    from helpers import image_folder, run_cli

    from bbvae.models.modelfile import load_model

    folder, out = image_folder(tmp_path / "images"), tmp_path / "model"
    train_with_cli(folder, out, "--objective", "bilb", "--posterior", "constant")
    model, info = load_model(out)
    assert (model.cfg.prior, info.info["objective"]) == ("floating", "bilb")
    assert not torch.allclose(model.prior_var, torch.ones(3))
    refused = run_cli("train", "--dataset", str(folder), "--out", str(tmp_path / "bad"), "--objective", "bilb")
    assert_refused(refused, "--posterior constant")


def test_train_records_the_objective(tmp_path):
    from helpers import image_folder, run_cli

    from bbvae.models.modelfile import load_model

    folder, out = image_folder(tmp_path / "images"), tmp_path / "model"
    train_with_cli(folder, out, "--objective", "iwae", "--iwae-train-samples", "3")
    info = load_model(out)[1].info
    assert info["objective"] == "iwae" and info["iwae_train_samples"] == 3
    refused = run_cli("train", "--dataset", str(folder), "--out", str(tmp_path / "bad"), "--objective", "iwae",
                      "--free-bits", "1")
    assert_refused(refused, "free bits")
