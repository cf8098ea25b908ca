"""The causal context rule and the local-mixture pixel codec: decoding rebuilds the context and the message."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import messages, rngs

from bbvae.coder import CoderError, Message, Uniform
from bbvae.coder.local import LocalMixture
from bbvae.models.context import CONTEXT_FILL, as_photo_channels, with_context
from bbvae.models.likelihoods import local_mixture
from bbvae.training.crops import PatchSampler


def neighbour_offsets() -> tuple[tuple[int, int], ...]:
    """(dy, dx) of the neighbours the likelihood reads."""
    return local_mixture.NEIGHBOURS


def margin(image: np.ndarray, context: np.ndarray) -> int:
    """Context rows above (and columns left of) the image."""
    return context.shape[0] - image.shape[0]


RIGHT = local_mixture.CONTEXT_RIGHT  # context columns right of the image


# --- with_context -----------------------------------------------------------------------------------


@given(st.integers(1, 6), st.integers(1, 6), st.sampled_from([None, 1, 3]))
def test_every_neighbour_is_an_earlier_pixel_or_the_fill(height, width, channels):
    """Tag each sample with (raster index, channel): every value a pixel's likelihood reads is the fill
    or a sample of the same channel from a pixel strictly before it in raster order."""
    depth = channels or 1
    tags = (np.arange(height * width)[:, None] * depth + np.arange(depth)).reshape(height, width, depth)
    assert tags.max() < CONTEXT_FILL  # tags never collide with the fill
    image = tags.astype(np.uint8) if channels else tags[:, :, 0].astype(np.uint8)
    context = with_context(image)
    pad = margin(image, context)
    assert pad >= max(max(-dy, -dx) for dy, dx in neighbour_offsets())
    assert RIGHT >= max(dx for _, dx in neighbour_offsets())
    assert context.shape == (height + pad, width + pad + RIGHT) + image.shape[2:]
    np.testing.assert_array_equal(context[pad:, pad:pad + width], image)
    view = context.reshape(context.shape[:2] + (depth,))
    for y in range(height):
        for x in range(width):
            for dy, dx in neighbour_offsets():
                for c in range(depth):
                    value = int(view[pad + y + dy, pad + x + dx, c])
                    if value != CONTEXT_FILL:
                        assert value % depth == c, (y, x, dy, dx, c)
                        assert value // depth < y * width + x, (y, x, dy, dx, c)


@given(st.integers(1, 7), st.integers(1, 7), rngs(), st.data())
def test_later_pixels_never_change_what_earlier_pixels_see(height, width, rng, data):
    """Change every pixel from raster index `cut` on: the context up to and around pixel `cut` is unchanged."""
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    cut = data.draw(st.integers(0, height * width - 1))
    later = image.copy().reshape(-1, 3)
    later[cut:] = rng.integers(0, 256, later[cut:].shape, dtype=np.uint8)
    a, b = with_context(image), with_context(later.reshape(image.shape))
    pad = margin(image, a)
    for index in range(cut + 1):
        y, x = divmod(index, width)
        for dy, dx in neighbour_offsets():
            np.testing.assert_array_equal(a[pad + y + dy, pad + x + dx], b[pad + y + dy, pad + x + dx])


def test_context_of_a_one_pixel_image_is_the_fill():
    context = with_context(np.full((1, 1, 3), 7, np.uint8))
    pad = margin(np.zeros((1, 1)), context)
    assert (context[pad:, pad:pad + 1] == 7).all()
    context[pad:, pad:pad + 1] = CONTEXT_FILL
    assert (context == CONTEXT_FILL).all()


def test_photo_channels():
    grey = np.arange(6, dtype=np.uint8).reshape(2, 3)
    pixels, coded = as_photo_channels(grey)
    assert coded == 1 and pixels.shape == (2, 3, 3) and all((pixels[:, :, c] == grey).all() for c in range(3))
    rgb = np.zeros((2, 3, 3), np.uint8)
    assert as_photo_channels(rgb)[1] == 3
    with pytest.raises(ValueError, match="channels"):
        as_photo_channels(np.zeros((2, 3, 4), np.uint8))


def test_patch_sampler_crops_carry_their_photos_context():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (12, 10), dtype=np.uint8)
    rgb = rng.integers(0, 256, (9, 16, 3), dtype=np.uint8)
    sampler = PatchSampler([grey, rgb, np.zeros((3, 30), np.uint8)], 8)  # the 3-row photo is too small
    assert len(sampler.photos) == 2
    batch, coded = sampler.random(rng, 20)
    pad = margin(grey, with_context(grey))
    assert batch.shape == (20, 3, 8 + pad, 8 + pad + RIGHT) and batch.dtype == np.uint8
    assert set(coded) <= {1, 3}
    grid, grid_coded = sampler.grid()
    # the first grid crop of each photo is its top-left patch with its margins from the photo's context
    np.testing.assert_array_equal(grid[0], with_context(np.dstack([grey] * 3))[:8 + pad, :8 + pad + RIGHT].transpose(2, 0, 1))
    first_rgb = int(np.argmax(grid_coded == 3))
    np.testing.assert_array_equal(grid[first_rgb], with_context(rgb)[:8 + pad, :8 + pad + RIGHT].transpose(2, 0, 1))
    with pytest.raises(ValueError, match="at least"):
        PatchSampler([np.zeros((4, 4, 3), np.uint8)], 8)


# --- LocalMixture -----------------------------------------------------------------------------------


def raster_items(height: int, width: int, channels) -> tuple[np.ndarray, np.ndarray]:
    """Decoding order: row, column, then the coded channels."""
    ys, xs, cs = np.meshgrid(np.arange(height), np.arange(width), np.asarray(channels), indexing="ij")
    return np.stack([ys.ravel(), xs.ravel()], 1), cs.ravel()


def random_parameters(rng: np.random.Generator, height: int, width: int, channels: np.ndarray, mixture: int,
                      depth: int = 3) -> dict:
    """Random head parameters for items in raster order (raster_items): random features and weights
    give nearly-zero mixture weights, sharp and flat scales, and means far outside 0..255."""
    count = len(channels)
    hidden = int(rng.integers(1, 9))
    neighbours = int(rng.integers(1, len(neighbour_offsets()) + 1))  # a model reads the first `neighbours` of them
    per = local_mixture.outputs_per_channel(depth, mixture, neighbours)
    return {
        "pixels": np.repeat(np.arange(height * width), count // (height * width)),
        "features": rng.normal(0.0, 1.0, (height * width, hidden)),
        "w_in": rng.normal(0.0, 1.0, (hidden, neighbours * depth)),
        "w_out": rng.normal(0.0, 0.7, (depth * per, hidden)),
        "b_out": rng.normal(0.0, 1.0, depth * per),
        "mixture": mixture,
    }


def broken_parameters(params: dict) -> list[dict]:
    """Parameters of a wrong shape, and parameters that are not finite."""
    nan = params["features"].copy()
    nan[0, 0] = np.nan
    return [dict(params, w_out=params["w_out"][:-1]), dict(params, features=nan)]


def local_codec(context, positions, channels, params, replicate=False) -> LocalMixture:
    return LocalMixture(context, positions, channels, params["pixels"], params["features"], params["w_in"],
                        params["w_out"], params["b_out"], params["mixture"], replicate=replicate)


@given(messages(), st.integers(1, 6), st.integers(1, 6), st.integers(1, 3), rngs())
def test_local_mixture_push_then_pop_rebuilds_context_and_message(message, height, width, mixture, rng):
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if rng.random() < 0.3:  # smooth images put the symbols where the mixture puts its mass
        image = np.clip(np.cumsum(rng.integers(-2, 3, image.shape), 1) + rng.integers(0, 256), 0, 255).astype(np.uint8)
    positions, channels = raster_items(height, width, range(3))
    params = random_parameters(rng, height, width, channels, mixture)
    encoder = local_codec(with_context(image), positions, channels, params)
    start = message.copy()
    pushed = encoder.push(message, encoder.values())

    blank = np.full_like(with_context(image), CONTEXT_FILL)
    decoded_message, values = local_codec(blank, positions, channels, params).pop(pushed)
    np.testing.assert_array_equal(values, image.reshape(-1))
    np.testing.assert_array_equal(blank, with_context(image))  # the decoder filled in the context rows too
    assert decoded_message == start


@given(messages(), st.integers(1, 5), st.integers(1, 5), st.integers(1, 3), rngs())
def test_local_mixture_pop_then_push_restores_any_message(message, height, width, mixture, rng):
    positions, channels = raster_items(height, width, range(3))
    params = random_parameters(rng, height, width, channels, mixture)
    start = message.copy()
    context = np.full_like(with_context(np.zeros((height, width, 3), np.uint8)), CONTEXT_FILL)
    popped, values = local_codec(context, positions, channels, params).pop(message)
    image = values.reshape(height, width, 3).astype(np.uint8)
    np.testing.assert_array_equal(context, with_context(image))
    encoder = local_codec(with_context(image), positions, channels, params)
    assert encoder.push(popped, encoder.values()) == start


@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 3), rngs())
def test_local_mixture_rate_matches_its_information_content(height, width, mixture, rng):
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    positions, channels = raster_items(height, width, range(3))
    params = random_parameters(rng, height, width, channels, mixture)
    message = Uniform(16, 20).push(Message(), rng.integers(0, 1 << 16, 20))
    before = message.bits
    encoder = local_codec(with_context(image), positions, channels, params)
    information = encoder.information_bits(encoder.values())
    grown = encoder.push(message, encoder.values()).bits - before
    assert information > 0
    assert abs(grown - information) <= 64 + 1e-6 * information  # the state holds up to a word's worth


@given(messages(), st.integers(1, 6), st.integers(1, 6), st.integers(1, 3), rngs())
def test_replicated_grey_pixels_code_one_channel_and_fill_all_three(message, height, width, mixture, rng):
    grey = rng.integers(0, 256, (height, width), dtype=np.uint8)
    pixels, coded = as_photo_channels(grey)
    assert coded == 1
    positions, channels = raster_items(height, width, [0])
    params = random_parameters(rng, height, width, channels, mixture)
    encoder = local_codec(with_context(pixels), positions, channels, params, replicate=True)
    np.testing.assert_array_equal(encoder.values(), grey.reshape(-1))
    start = message.copy()
    single = Message()
    information = encoder.information_bits(encoder.values())
    assert abs(encoder.push(single, encoder.values()).bits - Message().bits - information) <= 64 + 1e-6 * information
    pushed = encoder.push(message, encoder.values())

    blank = np.full_like(with_context(pixels), CONTEXT_FILL)
    decoded_message, values = local_codec(blank, positions, channels, params, replicate=True).pop(pushed)
    np.testing.assert_array_equal(values, grey.reshape(-1))
    np.testing.assert_array_equal(blank, with_context(pixels))  # every channel and every context copy
    assert decoded_message == start


def test_local_mixture_refuses_bad_items_before_writing():
    image = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    positions, channels = raster_items(2, 2, range(3))
    params = random_parameters(np.random.default_rng(0), 2, 2, channels, 2)
    message = Uniform(8, 3).push(Message(), np.array([1, 2, 3]))
    start = message.copy()
    codec = local_codec(with_context(image), positions, channels, params)
    with pytest.raises(CoderError, match="context's pixels"):
        codec.push(message, codec.values() + 1)
    assert message == start
    outside = positions.copy()
    outside[-1] = (2, 0)
    with pytest.raises(CoderError, match="outside"):
        local_codec(with_context(image), outside, channels, params)
    with pytest.raises(CoderError, match="channel"):
        local_codec(with_context(image), positions, channels + 1, params)
    with pytest.raises(CoderError):
        local_codec(with_context(image).astype(np.int64), positions, channels, params)
    for bad in broken_parameters(params):
        with pytest.raises(CoderError):
            local_codec(with_context(image), positions, channels, bad)
