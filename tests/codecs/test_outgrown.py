"""The model path stops once it can no longer beat a classical record made beside it (photos._Outgrown).

Its rule rests on PatchCodec.most_returned_bits: the strips still to come never take more bits off a message
than that. Checked here on images of every kind (smooth, flat, noise) from random messages, and the stop
itself: the record it gives up on, the progress it still reports, and the files that still round-trip.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import ar_image
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import messages

import bbvae
from bbvae import api
from bbvae.codecs import classical
from bbvae.codecs import photos as photo_api
from bbvae.codecs.build import codec_for
from bbvae.format.precisions import PHOTOS
from bbvae.models import arithmetic
from bbvae.models.defaults import PHOTO_MODEL


def model_file(models) -> str:
    return str(models / PHOTO_MODEL / "model.safetensors")


def image_of(kind: str, height: int, width: int, channels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = {"smooth": lambda: ar_image(height, width, seed, channels=3),
             "flat": lambda: np.full((height, width, 3), rng.integers(0, 256), np.uint8),
             "noise": lambda: rng.integers(0, 256, (height, width, 3), dtype=np.uint8)}[kind]()
    return np.ascontiguousarray(image[:, :, 0]) if channels == 1 else image


@settings(max_examples=25, deadline=None)
@given(messages(), st.sampled_from(["smooth", "flat", "noise"]), st.integers(9, 40), st.integers(1, 30),
       st.sampled_from([1, 3]), st.integers(0, 2**32 - 1), st.booleans())
def test_strips_to_come_never_take_more_bits_than_the_bound(photo_models, message, kind, height, width, channels,
                                                            seed, shifts):
    codec = codec_for(model_file(photo_models), PHOTOS, arithmetic.PORTABLE, scale_shifts=shifts)
    image = image_of(kind, height, width, channels, seed)
    strips, seen = codec.strips(height), []
    final = codec.encode(image, message, stop=lambda unit, message: seen.append((unit, message.bits)) or False)
    assert [unit for unit, _ in seen] == list(range(strips - 1))
    for unit, bits in seen:
        assert final.bits >= bits - codec.most_returned_bits(strips - unit - 1, width, channels)


def test_the_model_path_gives_up_once_a_rival_record_is_smaller(photo_env):
    image = ar_image(64, 24, seed=3)
    reported = []
    whole = photo_api.model_record(image, model_file(photo_env))
    assert photo_api.model_record(image, model_file(photo_env), rival=[10 ** 9]).to_bytes() == whole.to_bytes()
    assert photo_api.model_record(image, model_file(photo_env), progress=reported.append, rival=[50]) is None
    assert sum(reported) == len(image) and len(reported) < codec_for(model_file(photo_env), PHOTOS, arithmetic.PORTABLE).strips(64)


def test_a_banded_model_path_gives_up_in_every_band(photo_env):
    image = ar_image(160, 16, seed=4)
    reported = []
    assert photo_api.model_record(image, model_file(photo_env), progress=reported.append, threads=2, rival=[50]) is None
    assert sum(reported) == len(image)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_repeated_pattern_goes_the_classical_way_and_round_trips(photo_env, jobs):
    """A tiled image, which PNG and WebP code in a fraction of the model's bytes: the file holds the smallest
    classical record, whether or not the model path gave up before the classical encoders were done."""
    image = np.tile(ar_image(8, 8, seed=5), (40, 12, 1))
    data = bbvae.compress(image, jobs=jobs)
    (stored,) = api.describe_container(data)["paths"]
    assert stored["path"] != "model"
    assert stored["bytes"] == min(len(encoded) for encoded in classical.encodings(image).values()) + 2
    np.testing.assert_array_equal(bbvae.decompress(data)[0], image)
