"""VAE variants: mixture-of-Gaussians and VampPrior priors, and a constant posterior variance.

Each trains (a few steps on a tiny batch lower its objective) and is really coded
(exact round trips, and a rate at its negative ELBO: the mixture priors go through
nested bits-back, bbvae.coder.MixturePrior).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from bbvae.coder import Message
from bbvae.vae import VAE, ModelConfig
from bbvae.vae_codec import Precisions, VAECodec

from helpers import TINY, blob_images, one_torch_thread

VARIANTS = {
    "mog prior": dict(prior="mog", prior_components=3),
    "vamp prior": dict(prior="vamp", prior_components=4),
    "constant posterior": dict(posterior="constant"),
    "mog prior, constant posterior": dict(prior="mog", prior_components=2, posterior="constant"),
}


def trained(variant: dict, steps: int) -> tuple[VAE, float, float]:
    """A tiny model of the variant after `steps` Adam steps on one batch; its loss before and after."""
    torch.manual_seed(0)
    model = VAE(dataclasses.replace(TINY, **variant))
    x = torch.from_numpy(blob_images(32, size=TINY.height))

    def loss() -> torch.Tensor:
        torch.manual_seed(1)  # the same posterior sample before and after
        return model.negative_elbo_bpd(x).mean()

    with one_torch_thread():
        with torch.no_grad():
            before = loss().item()
        optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
        for _ in range(steps):
            optimiser.zero_grad()
            loss().backward()
            optimiser.step()
        with torch.no_grad():
            after = loss().item()
    return model.eval(), before, after


@pytest.mark.parametrize("name", VARIANTS)
def test_a_few_steps_lower_the_objective(name):
    _, before, after = trained(VARIANTS[name], steps=40)
    assert after < before - 0.1, (before, after)


@pytest.mark.parametrize("name", VARIANTS)
def test_round_trip_and_rate_at_the_negative_elbo(name):
    model, _, _ = trained(VARIANTS[name], steps=40)
    images = blob_images(120, size=TINY.height, seed=5)
    codec = VAECodec(model, Precisions(10, 28, 24), group_size=32)
    data = codec.encode(images).to_bytes()
    np.testing.assert_array_equal(codec.decode(Message.from_bytes(data), len(images)), images)
    with torch.no_grad():
        torch.manual_seed(2)
        x = torch.from_numpy(images)
        elbo = np.mean([model.negative_elbo_bpd(x).mean().item() for _ in range(20)])
    coded = 8 * len(data) / images.size
    assert abs(coded - elbo) < 0.02 * elbo + 0.02, (coded, elbo)


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
        ModelConfig(channels=3, height=8, width=8, mixture=2, prior="mog", prior_components=2)
    assert ModelConfig.from_dict(ModelConfig(prior="vamp", prior_components=5).to_dict()).prior_components == 5


def test_train_records_the_variant_and_the_model_codes(tmp_path):
    import bbvae
    from bbvae.modelfile import load_model

    from helpers import image_folder, run_cli

    folder, out = image_folder(tmp_path / "images"), tmp_path / "model"
    trained_run = run_cli("train", "--dataset", str(folder), "--out", str(out), "--epochs", "1", "--batch-size", "4",
                          "--latent", "3", "--hidden", "8", "--blocks", "1", "--prior", "vamp", "--prior-components", "2",
                          "--posterior", "constant", "--threads", "1", "--quiet")
    assert trained_run.returncode == 0, trained_run.stderr
    cfg = load_model(out)[1].config
    assert (cfg.prior, cfg.prior_components, cfg.posterior) == ("vamp", 2, "constant")
    images = blob_images(5)[:, 0]
    np.testing.assert_array_equal(np.stack(bbvae.decompress(bbvae.compress(images, str(out)), str(out))), images)
    refused = run_cli("train", "--dataset", str(folder), "--out", str(tmp_path / "bad"), "--prior", "mog")
    assert refused.returncode == 1 and "prior_components" in refused.stderr and "Traceback" not in refused.stderr


def test_compare_rows_keep_their_json_contract(tmp_path):
    import json

    from bbvae.modelfile import save_model

    from helpers import image_folder, run_cli

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
    from bbvae.vae import Objective

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
    from bbvae.train import TrainOptions, objective_at

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


def test_train_records_the_objective(tmp_path):
    from bbvae.modelfile import load_model

    from helpers import image_folder, run_cli

    folder, out = image_folder(tmp_path / "images"), tmp_path / "model"
    run = run_cli("train", "--dataset", str(folder), "--out", str(out), "--epochs", "1", "--batch-size", "4",
                  "--latent", "3", "--hidden", "8", "--blocks", "1", "--objective", "iwae", "--iwae-train-samples", "3",
                  "--threads", "1", "--quiet")
    assert run.returncode == 0, run.stderr
    info = load_model(out)[1].info
    assert info["objective"] == "iwae" and info["iwae_train_samples"] == 3
    refused = run_cli("train", "--dataset", str(folder), "--out", str(tmp_path / "bad"), "--objective", "iwae",
                      "--free-bits", "1")
    assert refused.returncode == 1 and "free bits" in refused.stderr and "Traceback" not in refused.stderr
