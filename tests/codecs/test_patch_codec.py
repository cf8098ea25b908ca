"""PatchCodec: any image size, grey or RGB, comes back pixel for pixel; patch models learn on sampled crops."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import PHOTO, ar_image, one_torch_thread, tiny_model

from bbvae.codecs.patches import PatchCodec
from bbvae.coder import Message
from bbvae.format.precisions import PHOTOS as PHOTO_PRECISIONS
from bbvae.format.precisions import Precisions
from bbvae.training.crops import PatchSampler


@pytest.fixture(scope="module")
def codec() -> PatchCodec:
    """An untrained tiny patch model (8x8 patches: larger images take several strips)."""
    return PatchCodec(tiny_model(0, PHOTO), PHOTO_PRECISIONS)


def round_trip(codec: PatchCodec, image: np.ndarray) -> bytes:
    data = codec.encode(image).to_bytes()
    coded = 1 if image.ndim == 2 else 3
    decoded = codec.decode(Message.from_bytes(data), image.shape[0], image.shape[1], coded)
    assert decoded.dtype == np.uint8 and decoded.shape == image.shape
    np.testing.assert_array_equal(decoded, image)
    return data


def noise(*shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


EDGE_CASES = {
    "1x1 rgb": noise(1, 1, 3),
    "1x1 grey": noise(1, 1),
    "1x19 rgb": noise(1, 19, 3),
    "1x19 grey": noise(1, 19),
    "19x1 rgb": noise(19, 1, 3),
    "19x1 grey": noise(19, 1),
    "9x13 rgb": noise(9, 13, 3),
    "9x13 grey": noise(9, 13),
    "17x8 rgb": noise(17, 8, 3),
    "17x8 grey": noise(17, 8),
    "8x8 rgb (one whole patch)": noise(8, 8, 3),
    "16x24 grey (whole patches)": noise(16, 24),
    "noise 33x20 rgb (15 patches, several strips)": noise(33, 20, 3, seed=1),
    "flat colour": np.broadcast_to(np.array([10, 200, 30], np.uint8), (11, 10, 3)).copy(),
    "flat black grey": np.zeros((10, 11), np.uint8),
    "flat white rgb": np.full((5, 9, 3), 255, np.uint8),
    "extremes": np.where(noise(12, 12, 3) > 127, 255, 0).astype(np.uint8),
    "smooth": ar_image(12, 20, seed=3),
}


@pytest.fixture(scope="module")
def unshifted(codec) -> PatchCodec:
    """The same model without per-patch scale shifts (how files of format version 1 were coded)."""
    return PatchCodec(codec.model, PHOTO_PRECISIONS, scale_shifts=False)


@pytest.mark.parametrize("name", EDGE_CASES)
def test_round_trip(codec, name):
    round_trip(codec, EDGE_CASES[name])


@pytest.mark.parametrize("name", EDGE_CASES)
def test_round_trip_without_scale_shifts(unshifted, name):
    round_trip(unshifted, EDGE_CASES[name])


@pytest.mark.parametrize("image", [noise(24, 32, 3, seed=3), np.full((24, 32, 3), 100, np.uint8)], ids=["noise", "flat"])
def test_scale_shifts_fit_the_logistics_to_the_image(codec, unshifted, image):
    """Wider for noise, narrower for a flat image than the model gives: smaller files, the same pixels."""
    assert len(round_trip(codec, image)) < len(round_trip(unshifted, image))


def test_grey_codes_one_channel_and_differs_from_its_rgb_copy(codec):
    grey = noise(9, 13, seed=5)
    grey_bytes = round_trip(codec, grey)
    rgb_bytes = round_trip(codec, np.dstack([grey] * 3))
    assert len(grey_bytes) < len(rgb_bytes)  # two of three channels are copies, never coded


def test_precisions_change_the_bytes_not_the_pixels(codec):
    image = noise(20, 28, 3, seed=2)
    coarse = PatchCodec(codec.model, Precisions(6, 20, 16))
    assert round_trip(coarse, image) != round_trip(codec, image)
    assert codec.encode(image).to_bytes() == codec.encode(image).to_bytes()  # deterministic


def test_strided_and_non_contiguous_inputs(codec):
    base = noise(20, 30, 3, seed=4)
    for view in (base[::2, ::3], base[:, :, ::-1], base[3:12, 5:, 1]):
        data = codec.encode(view).to_bytes()
        assert data == codec.encode(np.ascontiguousarray(view)).to_bytes()
        round_trip(codec, np.ascontiguousarray(view))


def test_a_damaged_or_mismatched_payload_is_a_value_error(codec):
    image = noise(9, 13, 3, seed=6)
    data = codec.encode(image).to_bytes()
    with pytest.raises(ValueError):
        codec.decode(Message.from_bytes(data[:-4]), 9, 13, 3)
    with pytest.raises(ValueError):
        codec.decode(Message.from_bytes(data), 30, 40, 3)  # more pixels than were coded


def test_only_square_rgb_local_models_are_accepted():
    from helpers import TINY

    from bbvae.models.vae import ModelConfig

    for cfg in (TINY, ModelConfig(channels=1, height=8, width=8, hidden=8, blocks=1, latent=4, mixture=2, local_neighbours=6),
                ModelConfig(channels=3, height=8, width=12, hidden=8, blocks=1, latent=4, mixture=2, local_neighbours=6)):
        with pytest.raises(ValueError, match="patch codec"):
            PatchCodec(tiny_model(0, cfg), PHOTO_PRECISIONS)


def test_a_few_adam_steps_on_one_batch_lower_its_negative_elbo():
    import torch

    sampler = PatchSampler([ar_image(20, 20, seed=7), ar_image(16, 24, seed=8)[:, :, 0]], PHOTO.height)
    batch, coded = sampler.random(np.random.default_rng(0), 16)
    x, coded = torch.from_numpy(batch), torch.from_numpy(coded)
    assert {1, 3} == set(coded.tolist())  # grey and colour crops together
    model = tiny_model(0, PHOTO).train()

    def loss() -> torch.Tensor:
        torch.manual_seed(123)  # the same posterior sample before and after
        return model.negative_elbo_bpd(x, coded)

    with one_torch_thread():
        with torch.no_grad():
            before = loss()
        assert before.shape == (16,) and torch.isfinite(before).all()
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(30):
            optimiser.zero_grad()
            loss().mean().backward()
            optimiser.step()
        with torch.no_grad():
            after = loss()
    assert after.mean() < before.mean() - 0.1, (before.mean(), after.mean())
