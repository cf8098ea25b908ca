"""Per-patch scale shifts (bbvae/codecs/scale_shifts.py): exact round trips, the shift the encoder picks, and old files.

Random heads, features, pixels, groups and messages, as in tests/models/test_local_images.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from strategies import messages, random_parts, rngs

from bbvae.codecs.scale_shifts import SHIFT_BITS, SHIFT_COUNT, SHIFT_ZERO, SHIFTS, ScaleShifted, best_shifts, one_minimum, shift_search
from bbvae.coder.kernels import LOCAL_LOG_SCALE_MAX, LOCAL_LOG_SCALE_MIN
from bbvae.coder.local import LocalMixture
from bbvae.models.context import with_context

DATA = Path(__file__).parent.parent / "data"


def random_mixture(rng: np.random.Generator, channels: int, height: int, width: int, mixture: int):
    """A LocalMixture over a random image's items in raster order, under a random head, and a function
    that gives the same items and head over a copy of the context with every pixel zero (the decoder's)."""
    features, head = random_parts(rng, 1, channels, height, width, mixture)
    image = rng.integers(0, 256, (height, width, channels))
    image[rng.random(image.shape) < 0.1] = 0
    image[rng.random(image.shape) < 0.1] = 255  # the edge bins, whose logistics take the tails
    context = with_context(image.astype(np.uint8))
    ys, xs, cs = (a.ravel() for a in np.meshgrid(np.arange(height), np.arange(width), np.arange(channels), indexing="ij"))

    def over(pixels: np.ndarray) -> LocalMixture:
        return LocalMixture(pixels, np.stack([ys, xs], 1), cs, ys * width + xs,
                            features[0].transpose(1, 2, 0).reshape(height * width, -1), mixture=mixture, **head)

    return over(context), lambda: over(with_context(np.zeros((height, width, channels), np.uint8)))


def random_groups(rng: np.random.Generator, pixels: LocalMixture) -> tuple[np.ndarray, int]:
    count = int(rng.integers(1, 6))
    return rng.integers(0, count, len(pixels.channels)), count


@settings(max_examples=30, deadline=None)
@given(messages(), rngs(), st.sampled_from([1, 3]), st.integers(1, 6), st.integers(1, 6), st.integers(1, 3))
def test_push_then_pop_restores_pixels_and_message(message, rng, channels, height, width, mixture):
    pixels, blank = random_mixture(rng, channels, height, width, mixture)
    groups, count = random_groups(rng, pixels)
    codec = ScaleShifted(pixels, groups, count)
    values, before, start = pixels.values(), message.copy(), message.bits
    message = codec.push(message, values)
    chosen = pixels.with_shifts(SHIFTS[best_shifts(pixels, groups, count)][groups])
    information = chosen.information_bits(values) + SHIFT_BITS * count
    slack = 32 * (before.lanes + 1)  # each lane's state absorbs up to a word before the message grows
    assert abs((message.bits - start) - information) < slack + 0.01 * information
    decoder = ScaleShifted(blank(), groups, count)
    message, decoded = decoder.pop(message)
    np.testing.assert_array_equal(decoded, values)
    np.testing.assert_array_equal(decoder.pixels.context, pixels.context)
    assert message == before


def reference_costs(pixels: LocalMixture, groups: np.ndarray, count: int) -> np.ndarray:
    """Nats of each group under each shift: the discretized logistic mixture in numpy, edge bins taking the tails."""
    weights, means, log_scales = pixels.unshifted_params()
    x = pixels.values()[:, None, None].astype(float)
    scales = np.exp(np.clip(log_scales[:, None, :] + SHIFTS[None, :, None], LOCAL_LOG_SCALE_MIN, LOCAL_LOG_SCALE_MAX))
    sigmoid = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    upper = np.where(x >= 255, 1.0, sigmoid((x + 0.5 - means[:, None, :]) / scales))
    lower = np.where(x <= 0, 0.0, sigmoid((x - 0.5 - means[:, None, :]) / scales))
    nats = -np.log(np.maximum((weights[:, None, :] * (upper - lower)).sum(2), 1e-30))
    return np.stack([np.bincount(groups, nats[:, j], minlength=count) for j in range(SHIFT_COUNT)], 1)


def descended(costs: np.ndarray, start: int = SHIFT_ZERO) -> int:
    """The search's rule on one group's costs: to a neighbour while it costs less, then left over equal ones."""
    j = start
    while True:
        if j > 0 and costs[j - 1] < costs[j]:
            j -= 1
        elif j < len(costs) - 1 and costs[j + 1] < costs[j]:
            j += 1
        else:
            break
    while j > 0 and costs[j - 1] == costs[j]:
        j -= 1
    return j


FLOOR_BITS = 20  # per value: below the 24-bit coder's floor probability of about 2**-24 per value, with margin


@settings(max_examples=20, deadline=None)
@given(rngs(), st.sampled_from([1, 3]), st.integers(1, 3))
@example(rng=np.random.default_rng(100000), channels=1, mixture=1)  # a group of values far in the tails
def test_the_encoder_descends_the_costs_of_the_reference(rng, channels, mixture):
    """The kernel's costs are numpy's wherever it computed them, and lead the descent where numpy's lead
    it: to the full search's choice wherever a group's costs have one minimum. In the coder's integer
    frequencies the chosen shifts cost at most a little more than no shift, for groups whose values the
    model does not put below the coder's floor probability (there every value costs about the precision,
    shifted or not)."""
    pixels, _ = random_mixture(rng, channels, 5, 6, mixture)
    groups, count = random_groups(rng, pixels)
    values, items = pixels.values(), np.bincount(groups, minlength=count)
    reference = reference_costs(pixels, groups, count)
    chosen, costs = shift_search(pixels, groups, count)
    computed = ~np.isnan(costs)
    assert computed[:, SHIFT_ZERO].all()
    np.testing.assert_allclose(costs[computed], reference[computed], rtol=1e-9)
    np.testing.assert_array_equal(chosen, [descended(row) for row in reference])
    for row, shift in zip(reference, chosen):
        if one_minimum(row):
            assert shift == np.argmin(row)
    np.testing.assert_array_equal(best_shifts(pixels, groups, count), chosen)
    bits = [np.bincount(groups, pixels.with_shifts(SHIFTS[indices][groups]).element_bits(values), minlength=count)
            for indices in (chosen, np.full(count, SHIFT_ZERO))]
    chosen_bits, unshifted_bits = (reference[np.arange(count), shifts] / np.log(2) for shifts in (chosen, SHIFT_ZERO))
    above_floor = np.maximum(chosen_bits, unshifted_bits) < FLOOR_BITS * items
    assert (bits[0] <= bits[1] + 0.01 * items)[above_floor].all()


@settings(max_examples=5, deadline=None)
@given(rngs(), st.integers(1, 4))
def test_a_large_group_costs_what_the_reference_says(rng, count):
    """Thousands of items per group: the kernel's running products are logged many times along the way.
    Started from every shift in turn, the descent computes every shift's cost."""
    pixels, _ = random_mixture(rng, 3, 24, 24, 2)
    groups = rng.integers(0, count, len(pixels.channels))
    reference = reference_costs(pixels, groups, count)
    for start in range(SHIFT_COUNT):
        chosen, costs = shift_search(pixels, groups, count, start)
        computed = ~np.isnan(costs)
        assert computed[:, start].all()
        np.testing.assert_allclose(costs[computed], reference[computed], rtol=1e-9)
        np.testing.assert_array_equal(chosen, [descended(row, start) for row in reference])


def test_shifts_must_be_finite_and_one_per_item():
    pixels, _ = random_mixture(np.random.default_rng(1), 3, 3, 3, 2)
    with pytest.raises(ValueError, match="one log-scale shift per item"):
        pixels.with_shifts(np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        pixels.with_shifts(np.full(len(pixels.channels), np.nan))


@pytest.mark.parametrize("groups, error", [(np.zeros(5, np.int64), "one group per item"),
                                           (np.full(27, 2), "groups must lie in 0..1"),
                                           (np.full(27, -1), "groups must lie in 0..1")])
def test_groups_must_name_a_group_for_each_item(groups, error):
    pixels, _ = random_mixture(np.random.default_rng(1), 3, 3, 3, 2)
    with pytest.raises(ValueError, match=error):
        ScaleShifted(pixels, groups, 2)
