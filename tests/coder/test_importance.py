"""Importance-weighted bits-back (McBits-style): exact round trips from any message, and a net rate
of -log2((1/K) sum_k w_k), the importance-weighted bound, computed from the coder's own probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import messages, rngs

from bbvae.coder import Categorical, CoderError, ImportanceBitsBack, LatentBins, Message, MixturePrior, Uniform

LATENT_BITS = 5


class ToyModel:
    """x: n symbols among 6 per item; z: 2 latent dims on 2**5 bins. The likelihood's table depends on z,
    the posterior's mean on x, both through random tables (an arbitrary, badly matched pair)."""

    def __init__(self, rng: np.random.Generator, count: int):
        self.bins = LatentBins(LATENT_BITS)
        self.count = count
        self.table = rng.random((self.bins.count, 6)) + 0.01
        self.post_mean, self.post_std = rng.normal(0, 1, (6, 2)), np.exp(rng.uniform(-2, 0.5, (6, 2)))

    def prior(self):
        return self.bins.prior((self.count, 2))

    def likelihood(self, z):
        return Categorical(self.table[z[:, 0]][:, None].repeat(3, axis=1), 24)

    def posterior(self, x):
        first = np.asarray(x)[:, 0]
        return self.bins.posterior(self.post_mean[first], self.post_std[first], 20)

    def codec(self, particles: int) -> ImportanceBitsBack:
        return ImportanceBitsBack(self.prior(), self.likelihood, self.posterior, particles, 24)


@settings(max_examples=40, deadline=None)
@given(messages(), rngs(), st.integers(1, 6), st.integers(1, 5))
def test_push_then_pop_restores_symbols_and_message(message, rng, count, particles):
    model = ToyModel(rng, count)
    x = rng.integers(0, 6, (count, 3))
    codec = model.codec(particles)
    before = message.copy()
    message = codec.push(message, x)
    message, decoded = codec.pop(message)
    np.testing.assert_array_equal(decoded, x)
    assert message == before


@settings(max_examples=20, deadline=None)
@given(messages(), rngs(), st.integers(1, 4))
def test_pop_then_push_restores_any_message(message, rng, particles):
    codec = ToyModel(rng, 3).codec(particles)
    before = message.copy()
    message, x = codec.pop(message)
    assert x.shape == (3, 3)
    assert codec.push(message, x) == before


@settings(max_examples=10, deadline=None)
@given(rngs(), st.sampled_from([1, 2, 4, 8]))
def test_net_rate_is_the_importance_weighted_bound(rng, particles):
    """On a message with plenty of bits (nothing borrowed), the cost is log2 K - log2 sum_k w_k of the very
    samples the push drew (up to the quantisation of the index's categorical)."""
    count = 200
    model = ToyModel(rng, count)
    x = rng.integers(0, 6, (count, 3))
    codec = model.codec(particles)
    start = Uniform(16, (20000,)).push(Message(), rng.integers(0, 1 << 16, 20000))
    posterior = model.posterior(x)
    replay, samples = start.copy(), []
    for _ in range(particles):  # the same pops the push makes first
        replay, z = posterior.pop(replay)
        samples.append(z)
    log2_w = codec._log2_weights(x, np.stack(samples), posterior)
    top = log2_w.max(axis=1)
    bound = float(np.sum(np.log2(particles) - top - np.log2(np.exp2(log2_w - top[:, None]).sum(axis=1))))
    before = start.bits
    after = codec.push(start, x).bits
    assert abs((after - before) - bound) < 0.01 * abs(bound) + 16, (after - before, bound)


def test_importance_weighted_coding_needs_an_elementwise_prior():
    bins = LatentBins(4)
    mixture = MixturePrior(np.ones(2), np.zeros((2, 2)), np.ones((2, 2)), bins, 3)
    with pytest.raises(CoderError):
        ImportanceBitsBack(mixture, None, None, 4)
    with pytest.raises(CoderError):
        ImportanceBitsBack(bins.prior((3, 2)), None, None, 0)


def test_a_vae_codes_below_its_elbo_with_particles():
    """A tiny trained VAE: K = 8 particles code a set of images exactly and in fewer bits than K = 1."""
    from helpers import TINY, blob_images, trained

    from bbvae.codecs.images import VAECodec
    from bbvae.format.precisions import Precisions

    model, _, _ = trained({}, steps=60)
    images = blob_images(400, size=TINY.height, seed=8)
    sizes = {}
    for particles in (1, 8):
        codec = VAECodec(model, Precisions(8, 24, 24), group_size=16, particles=particles)
        data = codec.encode(images).to_bytes()
        np.testing.assert_array_equal(codec.decode(Message.from_bytes(data), len(images)), images)
        sizes[particles] = len(data)
    assert sizes[8] < sizes[1], sizes
    with pytest.raises(ValueError):
        VAECodec(trained({"prior": "mog", "prior_components": 2}, steps=1)[0], particles=4)


def test_particles_travel_in_the_container_and_the_cli(tmp_path):
    from helpers import run_cli

    import bbvae
    from bbvae.format import container

    images = (np.arange(28 * 28 * 3).reshape(3, 28, 28) % 251).astype(np.uint8)
    data = bbvae.compress(images, "mnist", particles=3)
    assert container.unpack(data).particles == 3
    np.testing.assert_array_equal(np.stack(bbvae.decompress(data)), images)
    np.save(tmp_path / "digits.npy", images)
    run = run_cli("compress", str(tmp_path / "digits.npy"), "--particles", "2", "--model", "mnist", "--quiet")
    assert run.returncode == 0, run.stderr
    info = run_cli("info", str(tmp_path / "digits.npy.bbv"), "--json")
    assert '"particles": 2' in info.stdout
    refused = run_cli("compress", str(tmp_path / "digits.npy"), "-o", str(tmp_path / "p.bbv"), "--particles", "2",
                      "--model", "photo", "--quiet")
    assert refused.returncode != 0 and "whole-image" in refused.stderr and not (tmp_path / "p.bbv").exists()
