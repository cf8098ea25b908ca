"""The coder's size matches the information content; bits-back reaches the negative ELBO."""

from __future__ import annotations

import numpy as np
from test_coder_roundtrip import toy_bits_back, toy_latent_model

from bbvae.coder import DiscretizedLogistic, LatentBins, Message, Repeat
from bbvae.coder.codecs import Categorical


def logistic_counts(symbols, mean, scale, precision):
    """Quantised frequencies, computed independently of the Numba kernels."""
    total = 1 << precision

    def cdf(k):
        f = 1.0 / (1.0 + np.exp(-((k - 0.5 - mean) / scale)))
        counts = np.floor(f * (total - 256)).astype(np.int64) + k
        return np.where(k <= 0, 0, np.where(k >= 256, total, counts))

    return cdf(symbols + 1) - cdf(symbols)


def test_long_sequence_costs_its_information_content():
    rng = np.random.default_rng(1)
    n, precision = 200_000, 24
    mean = rng.uniform(0, 255, n)
    scale = np.exp(rng.uniform(-1, 4, n))
    symbols = np.clip(np.round(mean + scale * rng.logistic(size=n)), 0, 255).astype(np.int64)
    message = DiscretizedLogistic(mean, scale, precision).push(Message(), symbols)
    information = -np.log2(logistic_counts(symbols, mean, scale, precision) / 2.0**precision).sum()
    coded = message.bits - Message().bits
    assert coded <= information * 1.001 + 64
    assert coded >= information - 64  # no code beats the information content


def test_posterior_rate_matches_its_information_content():
    rng = np.random.default_rng(2)
    bins = LatentBins(8)
    n = 100_000
    codec = bins.posterior(rng.normal(0, 1, n), np.exp(rng.uniform(-3, 0, n)), 18)
    symbols = rng.integers(100, 156, n)
    message = codec.push(Message(), symbols)
    probs = gaussian_bin_counts(codec, symbols) / 2.0**18
    information = -np.log2(probs).sum()
    coded = message.bits - Message().bits
    assert information - 64 <= coded <= information * 1.001 + 64


def gaussian_bin_counts(codec, symbols):
    from math import erfc, sqrt

    mean, std = codec.params["a"][:, 0], codec.params["b"][:, 0]
    edges, count, total = codec.bins.edges, codec.bins.count, 1 << codec.precision

    def cdf(k, i):
        if k <= 0:
            return 0
        if k >= count:
            return total
        f = 0.5 * erfc((mean[i] - edges[k]) / std[i] * sqrt(0.5))
        return int(f * (total - count)) + k

    return np.array([cdf(s + 1, i) - cdf(s, i) for i, s in enumerate(symbols)], dtype=np.float64)


def negative_elbo_bits(prior, likelihood, posterior_probs, x, precision=16):
    """Exact negative ELBO of one item under the quantised tables the codec uses."""
    def quantised(probs):
        cdf = Categorical(probs, precision).params["table"].astype(np.float64)
        return np.diff(cdf, axis=-1) / 2.0**precision

    q = quantised(posterior_probs(x)[None])[0]
    p_z = quantised(prior[None])[0]
    dims = np.arange(likelihood.shape[1])
    log_px_z = np.array([np.log2(quantised(likelihood[z])[dims, x]).sum() for z in range(len(prior))])
    return float(np.sum(q * (np.log2(q) - np.log2(p_z) - log_px_z)))


def test_bits_back_rate_approaches_negative_elbo():
    rng = np.random.default_rng(3)
    prior, likelihood, posterior_probs = toy_latent_model(rng, latents=16, alphabet=8, dims=6)
    items = []
    for _ in range(3000):
        z = rng.choice(len(prior), p=prior)
        items.append(np.array([rng.choice(8, p=likelihood[z, d]) for d in range(6)]))
    codec = Repeat(toy_bits_back(prior, likelihood, posterior_probs), len(items))
    message = codec.push(Message(), items)
    elbo = sum(negative_elbo_bits(prior, likelihood, posterior_probs, x) for x in items)
    net = message.bits - Message().bits - message.borrowed_bits
    assert abs(net - elbo) < 0.01 * elbo
    assert message.bits - Message().bits < elbo * 1.01 + 128  # the initial bits are a few words
    _, decoded = codec.pop(message)
    np.testing.assert_array_equal(np.array(decoded), np.array(items))
