"""Invalid input raises CoderError before anything is written to the message."""

from __future__ import annotations

import numpy as np
import pytest

from bbvae.coder import (
    Bernoulli,
    Categorical,
    CoderError,
    DiscretizedLogistic,
    IntegerCdf,
    LatentBins,
    Message,
    MixtureDiscretizedLogistic,
    Uniform,
)

CDF = np.array([[0, 4, 4, 16]])  # symbol 1 has frequency 0, precision 4


def untouched(make, symbols=None):
    message = Uniform(8, 3).push(Message(), np.array([1, 2, 3]))
    before = message.copy()
    with pytest.raises(CoderError):
        codec = make()
        codec.push(message, symbols)
    assert message == before


def test_zero_frequency_symbol():
    untouched(lambda: IntegerCdf(CDF, 4), np.array([1]))


def test_start_plus_frequency_beyond_precision():
    untouched(lambda: IntegerCdf(np.array([[0, 4, 20]]), 4), np.array([0]))


def test_decreasing_cdf():
    untouched(lambda: IntegerCdf(np.array([[0, 9, 4, 16]]), 4), np.array([0]))


@pytest.mark.parametrize("precision", [0, 32, -1, 2.5, "8"])
def test_precision_out_of_range(precision):
    untouched(lambda: Uniform(precision, 1), np.array([0]))


def test_precision_too_small_for_alphabet():
    untouched(lambda: DiscretizedLogistic([1.0], [1.0], 7), np.array([0]))
    untouched(lambda: Categorical(np.ones((1, 5)), 2), np.array([0]))


@pytest.mark.parametrize("make,symbols", [
    (lambda: Uniform(4, 2), np.array([3, 16])),
    (lambda: IntegerCdf(CDF, 4), np.array([3])),
    (lambda: Categorical(np.ones((2, 3)), 8), np.array([0, -1])),
    (lambda: DiscretizedLogistic([1.0], [2.0], 12), np.array([256])),
    (lambda: LatentBins(4).posterior([0.0], [1.0], 12), np.array([16])),
])
def test_symbol_outside_alphabet(make, symbols):
    untouched(make, symbols)


@pytest.mark.parametrize("make,symbols", [
    (lambda: Uniform(4, 2), np.array([1.0, 2.0])),
    (lambda: Uniform(4, 2), np.array([1, 2, 3])),
])
def test_float_or_misshaped_symbols(make, symbols):
    untouched(make, symbols)


@pytest.mark.parametrize("make", [
    lambda: DiscretizedLogistic([1.0], [0.0]),
    lambda: DiscretizedLogistic([np.nan], [1.0]),
    lambda: DiscretizedLogistic([1.0], [np.inf]),
    lambda: DiscretizedLogistic([1.0, 2.0], [1.0]),
    lambda: MixtureDiscretizedLogistic([[0.5, -0.5]], [[1.0, 2.0]], [[1.0, 1.0]]),
    lambda: MixtureDiscretizedLogistic([[1.0]], [[1.0]], [[-1.0]]),
    lambda: Categorical([[0.0, 0.0]]),
    lambda: Categorical([[0.5, np.nan]]),
    lambda: Bernoulli([1.5]),
    lambda: LatentBins(4).posterior([0.0], [0.0], 12),
    lambda: LatentBins(0),
    lambda: Message(0),
])
def test_invalid_parameters(make):
    untouched(make, np.array([0]))


@pytest.mark.parametrize("item, value, error", [
    ("positions", (-1, 0), "a position lies outside the image"),
    ("positions", (3, 0), "a position lies outside the image"),  # row = height
    ("positions", (0, 4), "a position lies outside the image"),  # column = width
    ("channels", -1, "a channel lies outside the image"),
    ("channels", 3, "a channel lies outside the image"),
    ("pixels", 12, "a pixel has no features"),
])
def test_local_items_outside_the_image(item, value, error):
    """Every item of a LocalMixture must name a pixel of the context, one of its channels and a row of features."""
    from strategies import random_parts

    from bbvae.coder.local import LocalMixture
    from bbvae.models.context import with_context

    features, head = random_parts(np.random.default_rng(0), 1, 3, 3, 4, 2)
    ys, xs, cs = (a.ravel() for a in np.meshgrid(np.arange(3), np.arange(4), np.arange(3), indexing="ij"))
    items = {"positions": np.stack([ys, xs], 1), "channels": cs, "pixels": ys * 4 + xs}
    items[item][5] = value
    with pytest.raises(CoderError, match=error):
        LocalMixture(with_context(np.zeros((3, 4, 3), np.uint8)), items["positions"], items["channels"], items["pixels"],
                     features[0].transpose(1, 2, 0).reshape(12, -1), mixture=2, **head)
