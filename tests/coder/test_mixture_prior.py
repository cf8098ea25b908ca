"""Nested bits-back for a mixture-of-Gaussians prior: exact round trips, and a rate at the mixture's bound."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import messages, rngs

from bbvae.coder import CoderError, LatentBins, Message, MixturePrior, Uniform


def random_mixture(rng: np.random.Generator, components: int, dims: int):
    weights = rng.random(components) + 1e-3
    weights[rng.random(components) < 0.2] = 0.0 if components > 1 else 1.0
    if weights.sum() == 0:
        weights[0] = 1.0
    return weights, rng.normal(0.0, 2.0, (components, dims)), np.exp(rng.uniform(-4.0, 1.0, (components, dims)))


def sample_bins(rng, weights, means, stds, bins: LatentBins, count: int) -> np.ndarray:
    k = rng.choice(len(weights), size=count, p=weights / weights.sum())
    return bins.index_of(rng.normal(means[k], stds[k]))


@given(messages(), rngs(), st.integers(1, 4), st.integers(1, 5), st.integers(1, 30), st.integers(2, 10))
def test_push_then_pop_restores_latents_and_message(message, rng, components, dims, count, latent_bits):
    bins = LatentBins(latent_bits)
    weights, means, stds = random_mixture(rng, components, dims)
    indices = sample_bins(rng, weights, means, stds, bins, count)
    if rng.random() < 0.3:  # also vectors the mixture finds unlikely
        indices = rng.integers(0, bins.count, indices.shape)
    codec = MixturePrior(weights, means, stds, bins, count)
    before = message.copy()
    message = codec.push(message, indices)
    message, decoded = codec.pop(message)
    np.testing.assert_array_equal(decoded, indices)
    assert message == before


@given(messages(), rngs(), st.integers(1, 3), st.integers(1, 4))
def test_pop_then_push_restores_any_message(message, rng, components, dims):
    bins = LatentBins(6)
    codec = MixturePrior(*random_mixture(rng, components, dims), bins, 5)
    before = message.copy()
    message, indices = codec.pop(message)
    assert indices.shape == (5, dims) and indices.min() >= 0 and indices.max() < bins.count
    assert codec.push(message, indices) == before


def mixture_bits(indices, weights, means, stds, bins: LatentBins) -> float:
    """-log2 of the vectors' probabilities under the discretised mixture, computed with statistics.NormalDist."""
    cdf = np.vectorize(lambda t: NormalDist().cdf(t) if np.isfinite(t) else float(t > 0))
    low, high = bins.edges[indices], bins.edges[indices + 1]
    per_component = np.stack([np.prod(cdf((high - m) / s) - cdf((low - m) / s), axis=1) for m, s in zip(means, stds)], 1)
    return float(-np.log2(per_component @ (weights / weights.sum())).sum())


def test_rate_over_many_vectors_reaches_the_mixture_bound():
    rng = np.random.default_rng(3)
    bins = LatentBins(8)
    weights, means = np.array([0.5, 0.3, 0.2]), rng.normal(0.0, 1.5, (3, 6))
    stds = np.exp(rng.uniform(-1.5, 0.0, (3, 6)))
    indices = sample_bins(rng, weights, means, stds, bins, 3000)
    codec = MixturePrior(weights, means, stds, bins, len(indices))
    start = Uniform(16, 64).push(Message(), rng.integers(0, 1 << 16, 64))  # bits to pop the first components from
    coded = codec.push(start.copy(), indices).bits - start.bits
    bound = mixture_bits(indices, weights, means, stds, bins)
    assert abs(coded - bound) < 0.002 * bound + 64  # nested bits-back: the mixture's -log2 p, not the component's too


def test_bad_parameters_are_refused():
    bins = LatentBins(4)
    with pytest.raises(CoderError):
        MixturePrior([1.0, -1.0], np.zeros((2, 3)), np.ones((2, 3)), bins, 1)
    with pytest.raises(CoderError):
        MixturePrior([1.0], np.zeros((2, 3)), np.ones((2, 3)), bins, 1)
    with pytest.raises(CoderError):
        MixturePrior([1.0], np.zeros((1, 3)), np.zeros((1, 3)), bins, 1)
    with pytest.raises(CoderError):
        MixturePrior([1.0], np.zeros((1, 3)), np.ones((1, 3)), bins, 2).push(Message(), np.zeros((2, 4), np.int64))
