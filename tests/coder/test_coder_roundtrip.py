"""Every codec and combinator inverts exactly, in both directions, from any message."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from strategies import messages, rngs, shapes

from bbvae.coder import (
    Bernoulli,
    BitsBack,
    Categorical,
    DiscretizedLogistic,
    IntegerCdf,
    LatentBins,
    Message,
    MixtureDiscretizedLogistic,
    Repeat,
    Serial,
    Uniform,
)
from bbvae.coder.message import coding_ranges


def assert_inverts(codec, message: Message, symbols):
    """push then pop returns the symbols and the message; pop then push returns the message."""
    start = message.copy()
    pushed = codec.push(message.copy(), symbols)
    popped, decoded = codec.pop(pushed)
    assert_same(decoded, symbols)
    assert popped == start
    taken, drawn = codec.pop(start.copy())
    assert codec.push(taken, drawn) == start


def assert_same(a, b):
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        np.testing.assert_array_equal(a, b)


def random_probs(rng, shape, alphabet):
    probs = rng.dirichlet(np.full(alphabet, 0.3), size=shape)
    probs[rng.random(probs.shape) < 0.2] = 0.0  # zero and tiny probabilities must still code
    probs[rng.random(probs.shape) < 0.1] = 1e-30
    probs[..., 0] += 1e-12
    return probs


def sample_symbols(rng, probs):
    cumulative = np.cumsum(probs / probs.sum(-1, keepdims=True), -1)
    u = rng.random(probs.shape[:-1] + (1,))
    return np.minimum((u > cumulative).sum(-1), probs.shape[-1] - 1)


@given(messages(), rngs(), st.integers(1, 31), shapes)
def test_uniform(message, rng, precision, shape):
    assert_inverts(Uniform(precision, shape), message, rng.integers(0, 1 << precision, shape))


@given(messages(), rngs(), st.integers(1, 300), shapes, st.data())
def test_categorical(message, rng, alphabet, shape, data):
    precision = data.draw(st.integers(max(1, int(np.ceil(np.log2(alphabet)))), 31))
    probs = random_probs(rng, shape, alphabet)
    assert_inverts(Categorical(probs, precision), message, rng.integers(0, alphabet, shape))


@given(messages(), rngs(), st.integers(2, 20), shapes, st.integers(5, 31))
def test_integer_cdf(message, rng, alphabet, shape, precision):
    total = 1 << precision
    inner = np.sort(rng.integers(0, total + 1, shape + (alphabet - 1,)), axis=-1)
    cdf = np.concatenate([np.zeros(shape + (1,), np.int64), inner, np.full(shape + (1,), total)], -1)
    freqs = np.diff(cdf, axis=-1)
    symbols = np.argmax(freqs + rng.random(freqs.shape) * (freqs > 0), axis=-1)
    assert_inverts(IntegerCdf(cdf, precision), message, symbols)


@given(messages(), rngs(), shapes, st.integers(1, 31))
def test_bernoulli(message, rng, shape, precision):
    p = rng.random(shape) ** 4
    assert_inverts(Bernoulli(p, precision), message, (rng.random(shape) < p).astype(np.int64))


@given(messages(), rngs(), shapes, st.integers(8, 31))
def test_discretized_logistic(message, rng, shape, precision):
    mean = rng.uniform(-100, 360, shape)
    scale = np.exp(rng.uniform(-6, 7, shape))
    symbols = np.clip(np.round(mean + scale * rng.logistic(size=shape)), 0, 255).astype(np.int64)
    symbols[rng.random(shape) < 0.2] = rng.integers(0, 256)  # improbable symbols too
    assert_inverts(DiscretizedLogistic(mean, scale, precision), message, symbols)


@given(messages(), rngs(), shapes, st.integers(1, 5), st.integers(8, 31))
def test_mixture_logistic(message, rng, shape, components, precision):
    weights = rng.dirichlet(np.ones(components), size=shape)
    means = rng.uniform(-50, 300, shape + (components,))
    scales = np.exp(rng.uniform(-4, 5, shape + (components,)))
    codec = MixtureDiscretizedLogistic(weights, means, scales, precision)
    symbols = rng.integers(0, 256, shape)
    ends = rng.random(shape) < 0.3  # the decoder's search knows the counts at the ends without computing them
    symbols[ends] = rng.choice([0, 255], int(ends.sum()))
    assert_inverts(codec, message, symbols)


@given(messages(), rngs(), shapes, st.integers(1, 5), st.integers(8, 31), st.floats(0, 1))
def test_a_pop_that_expects_symbols_finds_what_a_plain_pop_finds(message, rng, shape, components, precision, right):
    """A check decode pops expecting the encoder's symbols and their ranges (Message.pop_expected): whatever it
    expects, with the ranges of what it expects it pops exactly the symbols and message of a plain pop."""
    codec = MixtureDiscretizedLogistic(rng.dirichlet(np.ones(components), size=shape),
                                       rng.uniform(-50, 300, shape + (components,)),
                                       np.exp(rng.uniform(-4, 5, shape + (components,))), precision)
    symbols = rng.integers(0, 256, shape)
    pushed = codec.push(message.copy(), symbols)
    expected = np.where(rng.random(shape) < right, symbols, rng.integers(0, 256, shape)).reshape(-1)
    ranges = coding_ranges(expected, precision, codec.kind, codec.alphabet, codec.params)
    plain, decoded = codec.pop(pushed.copy())
    told, found = pushed.pop_expected((expected, *ranges), precision, codec.kind, codec.alphabet, codec.params)
    assert_same(found.reshape(shape), decoded)
    assert told == plain == message


@given(messages(), rngs(), shapes, st.integers(1, 12), st.data())
def test_gaussian_posterior(message, rng, shape, bin_precision, data):
    precision = data.draw(st.integers(bin_precision, 31))
    bins = LatentBins(bin_precision)
    mean = rng.normal(0, 3, shape)
    std = np.exp(rng.uniform(-9, 2, shape))
    codec = bins.posterior(mean, std, precision)
    assert_inverts(codec, message, rng.integers(0, bins.count, shape))
    assert_inverts(bins.prior(shape), message, rng.integers(0, bins.count, shape))


@given(messages(), rngs(), st.integers(1, 4))
def test_serial_and_repeat(message, rng, times):
    logistic = DiscretizedLogistic(rng.uniform(0, 255, 5), np.full(5, 3.0), 16)
    serial = Serial(Uniform(7, 3), logistic, Bernoulli(np.full((2, 2), 0.3), 12))
    parts = (rng.integers(0, 128, 3), rng.integers(0, 256, 5), rng.integers(0, 2, (2, 2)))
    assert_inverts(serial, message, parts)
    assert_inverts(Repeat(serial, times), message, [parts] * times)


def toy_latent_model(rng, latents=8, alphabet=6, dims=5):
    """Tables of a small latent model: prior p(z), likelihood p(x|z), approximate posterior q(z|x)."""
    prior = rng.dirichlet(np.ones(latents))
    likelihood = rng.dirichlet(np.full(alphabet, 0.5), size=(latents, dims))

    def posterior_probs(x):
        log_joint = np.log(prior) + np.log(likelihood[:, np.arange(dims), x]).sum(1)
        tempered = np.exp(0.7 * (log_joint - log_joint.max()))  # deliberately not the exact posterior
        return tempered / tempered.sum()

    return prior, likelihood, posterior_probs


def toy_bits_back(prior, likelihood, posterior_probs, precision=16):
    return BitsBack(
        prior=Categorical(prior[None], precision),
        likelihood=lambda z: Categorical(likelihood[int(z[0])], precision),
        posterior=lambda x: Categorical(posterior_probs(x)[None], precision),
    )


@given(messages(), rngs())
def test_bits_back(message, rng):
    prior, likelihood, posterior_probs = toy_latent_model(rng)
    codec = toy_bits_back(prior, likelihood, posterior_probs)
    x = rng.integers(0, likelihood.shape[-1], likelihood.shape[1])
    assert_inverts(codec, message, x)
    assert_inverts(Repeat(codec, 3), message, [x, x[::-1].copy(), np.zeros_like(x)])
