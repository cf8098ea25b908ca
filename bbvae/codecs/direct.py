"""Latents coded directly, without bits-back: the first unit of a message (bbvae/codecs/schedule.py).

Each latent dimension d is the bin of its posterior mean among 2**bits[d]
equal-mass bins (none at 0 bits: the latent is then 0), pushed under the uniform
prior. `bits` is the model's allocation table (bbvae/training/allocation.py fits
it), so that a dimension carrying little information costs few bits.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from bbvae.coder import Codec, LatentBins, Message, Uniform


def quantised_latents(mean: np.ndarray, bits: np.ndarray, legacy: bool = False) -> np.ndarray:
    """Each dimension's value at `bits` bits: the median of the equal-mass bin holding the mean; 0 at 0 bits
    (`legacy`: the bins of files made before portable coding, coder.LatentBins)."""
    z = np.zeros_like(mean, dtype=np.float64)
    for level in np.unique(bits[bits > 0]):
        dims = bits == level
        grid = LatentBins(int(level), legacy)
        z[:, dims] = grid.values(grid.index_of(mean[:, dims]))
    return z


def _levels(bits: np.ndarray) -> list[int]:
    return sorted({int(b) for b in bits if b > 0})


def push_direct_latents(message: Message, mean: np.ndarray, bits: np.ndarray, legacy: bool) -> Message:
    """Push latents without bits-back: dimension d as the bin of mean[:, d] among 2**bits[d] (none at 0 bits),
    on the bins of coder.LatentBins(bits[d], legacy)."""
    for level in reversed(_levels(bits)):
        dims = bits == level
        message = Uniform(level, (len(mean), int(dims.sum()))).push(message, LatentBins(level, legacy).index_of(mean[:, dims]))
    return message


def pop_direct_latents(message: Message, count: int, bits: np.ndarray, legacy: bool):
    """The inverse of push_direct_latents: (message, latent values (count, len(bits)))."""
    latents = np.zeros((count, len(bits)))
    for level in _levels(bits):
        dims = bits == level
        message, indices = Uniform(level, (count, int(dims.sum()))).pop(message)
        latents[:, dims] = LatentBins(level, legacy).values(indices)
    return message, latents


class Direct(Codec):
    """A unit coded without bits-back: its values given latents at `bits` each, then those latents.

    posterior_mean(values): the latents' posterior means, which the encoder quantises;
    likelihood(latents): the codec of the values given latent values.
    """

    def __init__(self, posterior_mean: Callable[[np.ndarray], np.ndarray], likelihood: Callable[[np.ndarray], Codec],
                 bits: np.ndarray, count: int, legacy: bool):
        self.posterior_mean, self.likelihood, self.bits, self.count, self.legacy = posterior_mean, likelihood, bits, count, legacy

    def push(self, message: Message, values) -> Message:
        mean = self.posterior_mean(values)
        message = self.likelihood(quantised_latents(mean, self.bits, self.legacy)).push(message, values)
        return push_direct_latents(message, mean, self.bits, self.legacy)

    def pop(self, message: Message):
        message, latents = pop_direct_latents(message, self.count, self.bits, self.legacy)
        return self.likelihood(latents).pop(message)
