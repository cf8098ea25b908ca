"""The VAE: shapes, a normalised likelihood that matches the coder, learning, model files."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import TINY, blob_images, tiny_model

from bbvae.coder import DiscretizedLogistic
from bbvae.models.likelihoods.logistic import discretized_logistic_logp, logistic_parameters
from bbvae.models.modelfile import ModelFileError, load_model, save_model


def test_shapes():
    model = tiny_model()
    x = torch.randint(0, 256, (5, 1, 8, 8), dtype=torch.uint8)
    mean, log_std = model.encoder(x)
    assert mean.shape == log_std.shape == (5, TINY.latent)
    px_mean, px_log_scale = logistic_parameters(*model.decoder(mean).chunk(2, dim=1))
    assert px_mean.shape == px_log_scale.shape == (5, 1, 8, 8)
    assert model.negative_elbo_bpd(x).shape == (5,)


@pytest.mark.parametrize("mean,log_scale", [(0.0, 0.0), (127.3, 2.0), (255.0, -3.0), (-40.0, 5.0), (300.0, 1.0)])
def test_likelihood_is_normalised_and_matches_the_coder(mean, log_scale):
    k = torch.arange(256, dtype=torch.float64)
    logp = discretized_logistic_logp(k, torch.full_like(k, mean), torch.full_like(k, log_scale))
    assert torch.isfinite(logp).all()
    assert math.isclose(logp.exp().sum().item(), 1.0, rel_tol=1e-9)
    # The coder's quantised probabilities at 24 bits are the same distribution.
    codec = DiscretizedLogistic(np.full(1, mean), np.full(1, math.exp(log_scale)), 24)
    coded = np.array([2.0 ** -codec.information_bits(np.array([s])) for s in range(256)])
    np.testing.assert_allclose(coded, logp.exp().numpy(), atol=256 * 2.0 ** -24)


def test_loss_is_kl_minus_log2_of_the_pixel_probabilities(monkeypatch):
    model = tiny_model()
    x = torch.from_numpy(blob_images(3))
    monkeypatch.setattr(torch, "randn_like", torch.zeros_like)  # z = posterior mean
    with torch.no_grad():
        loss_bits = model.negative_elbo_bpd(x) * TINY.dims
        mean, log_std = model.encoder(x)
        px_mean, px_log_scale = logistic_parameters(*model.decoder(mean).chunk(2, dim=1))
    m, s, k = px_mean.double(), px_log_scale.double().exp(), x.double()
    upper = torch.where(k >= 255, torch.ones_like(m), torch.sigmoid((k + 0.5 - m) / s))
    lower = torch.where(k <= 0, torch.zeros_like(m), torch.sigmoid((k - 0.5 - m) / s))
    log2_px = torch.log2(upper - lower).flatten(1).sum(1)
    kl_bits = 0.5 * (mean.pow(2) + torch.exp(2 * log_std) - 1 - 2 * log_std).sum(1) / math.log(2)
    torch.testing.assert_close(loss_bits.double(), kl_bits.double() - log2_px, rtol=1e-5, atol=1e-3)


def test_iwae_is_a_tighter_estimate_than_the_elbo():
    model = tiny_model()
    x = torch.randint(0, 256, (8, 1, 8, 8), dtype=torch.uint8)
    torch.manual_seed(0)
    elbo = torch.stack([model.negative_elbo_bpd(x) for _ in range(200)]).mean(0)
    iwae = model.iwae_bpd(x, 200)
    assert torch.all(iwae <= elbo + 1e-3)


def test_save_and_load_reproduce_outputs_exactly(tmp_path):
    model = tiny_model(seed=3)
    fingerprint = save_model(tmp_path / "m.safetensors", model, {"dataset": "test"})
    loaded, info = load_model(tmp_path / "m.safetensors")
    assert info.fingerprint == fingerprint and info.config == TINY and info.info == {"dataset": "test"}
    z = torch.randn(4, TINY.latent)
    x = torch.randint(0, 256, (4, 1, 8, 8), dtype=torch.uint8)
    with torch.no_grad():
        for a, b in zip((model.decoder(z),) + model.encoder(x), (loaded.decoder(z),) + loaded.encoder(x)):
            assert torch.equal(a, b)


def test_bad_model_files_are_rejected(tmp_path):
    good = tmp_path / "good.safetensors"
    save_model(good, tiny_model(), {})
    raw = good.read_bytes()
    cases = {
        "missing.safetensors": None,
        "truncated.safetensors": raw[: len(raw) // 2],
        "garbage.safetensors": b"not a model at all",
        "empty.safetensors": b"",
        "tampered.safetensors": raw[:-4] + bytes(4),
    }
    from safetensors.torch import save_file
    save_file({"w": torch.zeros(2)}, str(tmp_path / "foreign.safetensors"))
    cases["foreign.safetensors"] = (tmp_path / "foreign.safetensors").read_bytes()
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(ModelFileError) as error:
            load_model(path)
        assert "\n" not in str(error.value)


def test_crafted_tensors_and_codec_tables_are_rejected_cleanly(tmp_path):
    from safetensors.torch import save_file

    from bbvae.models.modelfile import CODEC_PREFIX, FIRST_LATENT_BITS, fingerprint

    model = tiny_model()
    good = {name: t.contiguous() for name, t in model.state_dict().items()}
    meta = {"format": "bbvae-model", "format_version": "1", "config": __import__("json").dumps(TINY.to_dict()), "info": "{}"}
    table = CODEC_PREFIX + FIRST_LATENT_BITS
    for extra in ({table: torch.tensor([1.5, 2.0, 0.0])}, {table: torch.tensor([1, 99, 0])},
                  {table: torch.tensor([1, 2])}, {table: torch.zeros(3, dtype=torch.bfloat16)},
                  {"scalar": torch.tensor(1.0)}):
        state = {**good, **extra}
        path = tmp_path / "crafted.safetensors"
        try:
            fp = fingerprint(state)
        except Exception:
            fp = "x"
        save_file(state, str(path), metadata={**meta, "fingerprint": fp})
        with pytest.raises(ModelFileError):
            load_model(path)
