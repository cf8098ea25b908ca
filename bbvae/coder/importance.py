"""Importance-weighted bits-back coding (in the manner of McBits, Ruan et al. 2021).

Bits-back with one posterior sample codes x at the negative ELBO. With K samples
and an index chosen among them in proportion to their importance weights
w_k = p(x, z_k) / q(z_k | x), the net cost falls to -log2((1/K) sum_k w_k): the
importance-weighted bound (IWAE) of the same model. The extended latent is
(z_1..z_K, j), with proposal prod_k q(z_k|x) * w_j / sum w and target
(1/K) p(x, z_j) prod_{k != j} q(z_k|x):

    push x: pop z_1..z_K with q(.|x); pop j with w / sum w; push the K - 1 other
            samples with q(.|x); push x with p(x|z_j); push z_j with the prior;
            push j uniformly among K
    pop:    the exact reverse

The weights are -log2 of the coder's own quantised probabilities (element_bits
of each codec), so encoder and decoder compute the same ones from the same
integers; both evaluate the likelihood on the same arrays of K samples.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .codecs import Categorical, Codec, exp2, row_sums
from .message import CoderError, Message


class ImportanceBitsBack(Codec):
    """x (n items) with K latent samples each. prior: an element-wise codec of latents (n, D);
    likelihood(z) and posterior(x): element-wise codecs (with element_bits) of x and of z."""

    def __init__(self, prior: Codec, likelihood: Callable[[np.ndarray], Codec], posterior: Callable[[object], Codec],
                 particles: int, precision: int = 24, legacy: bool = False):
        """legacy: numpy's sums and exp2, as files made before portable coding were coded."""
        if particles < 1:
            raise CoderError("importance-weighted coding needs at least one particle")
        if not hasattr(prior, "element_bits"):
            raise CoderError("importance-weighted coding needs a prior that gives each latent's bits")
        self.prior, self.likelihood, self.posterior = prior, likelihood, posterior
        self.particles, self.precision, self.legacy = particles, precision, legacy

    def _per_item(self, bits: np.ndarray) -> np.ndarray:
        return row_sums(bits.reshape(len(bits), -1), self.legacy)

    def _log2_weights(self, x, samples: np.ndarray, posterior: Codec) -> np.ndarray:
        """log2 p(x, z_k) - log2 q(z_k|x) per item and particle, (n, K), from quantised probabilities."""
        columns = [self._per_item(posterior.element_bits(z)) - self._per_item(self.prior.element_bits(z))
                   - self._per_item(self.likelihood(z).element_bits(x)) for z in samples]
        return np.stack(columns, axis=1)

    def _choice(self, log2_weights: np.ndarray) -> Categorical:
        return Categorical(exp2(log2_weights - log2_weights.max(axis=1, keepdims=True), self.legacy), self.precision)

    def _uniform(self, count: int) -> Categorical:
        return Categorical(np.ones((count, self.particles)), self.precision)

    @staticmethod
    def _slots(k: int, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Indices (particle, item) of the K - 1 samples of each item that were not chosen, in particle order."""
        rows = np.arange(k - 1)[:, None]
        return rows + (rows >= chosen[None, :]), np.arange(len(chosen))[None, :]

    def push(self, message: Message, x) -> Message:
        posterior = self.posterior(x)
        samples = []
        for _ in range(self.particles):
            message, z = posterior.pop(message)
            samples.append(z)
        samples = np.stack(samples)
        message, chosen = self._choice(self._log2_weights(x, samples, posterior)).pop(message)
        for other in samples[self._slots(self.particles, chosen)]:
            message = posterior.push(message, other)
        selected = samples[chosen, np.arange(len(chosen))]
        message = self.likelihood(selected).push(message, x)
        message = self.prior.push(message, selected)
        return self._uniform(len(chosen)).push(message, chosen)

    def pop(self, message: Message):
        message, chosen = self._uniform(self.prior.shape[0]).pop(message)
        message, selected = self.prior.pop(message)
        message, x = self.likelihood(selected).pop(message)
        posterior = self.posterior(x)
        samples = np.empty((self.particles,) + selected.shape, dtype=selected.dtype)
        others = [None] * (self.particles - 1)
        for slot in reversed(range(self.particles - 1)):
            message, others[slot] = posterior.pop(message)
        if others:
            samples[self._slots(self.particles, chosen)] = np.stack(others)
        samples[chosen, np.arange(len(chosen))] = selected
        message = self._choice(self._log2_weights(x, samples, posterior)).push(message, chosen)
        for z in reversed(samples):
            message = posterior.push(message, z)
        return message, x
