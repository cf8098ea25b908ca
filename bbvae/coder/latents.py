"""Latents on the bins of equal mass under N(0, 1) (BB-ANS; docs/CODER.md).

2**precision bins cut the real line so that each holds the same prior mass: the
prior is uniform over bin indices, the posterior N(mean, std) is discretised
onto the same bins, and a decoded latent is its bin's prior median. Edges are
computed once per precision by one routine, so encoder and decoder share them:
`kernels.exact_normal_quantiles`, whose bits are the same on every machine, or,
for files made before portable coding (`legacy`), Python's NormalDist, which
calls libm.
"""

from __future__ import annotations

import functools
from statistics import NormalDist

import numpy as np

from . import kernels
from .codecs import Categorical, Codec, Elementwise, Uniform, _finite, exp2, log2, row_sums
from .message import CoderError, Message, check_precision, coding_ranges

MAX_LATENT_PRECISION = 20


class LatentBins:
    """Bin edges and centres of the equal-mass discretisation of N(0, 1)."""

    def __init__(self, precision: int, legacy: bool = False):
        if not 1 <= precision <= MAX_LATENT_PRECISION:
            raise CoderError(f"latent precision must be 1..{MAX_LATENT_PRECISION}, got {precision}")
        self.precision = precision
        self.count = 1 << precision
        self.legacy = legacy
        self.edges, self.centres = (_legacy_equal_mass_bins if legacy else _equal_mass_bins)(precision)

    def prior(self, shape) -> Uniform:
        return Uniform(self.precision, shape)

    def posterior(self, mean, std, precision: int) -> "GaussianPosterior":
        return GaussianPosterior(mean, std, self, precision)

    def index_of(self, values) -> np.ndarray:
        """The bin of each latent value."""
        return np.searchsorted(self.edges, np.asarray(values, dtype=np.float64), side="right") - 1

    def values(self, indices) -> np.ndarray:
        """The latent values (prior medians) of bin indices."""
        return self.centres[np.asarray(indices)]


def _frozen(interior: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    edges = np.concatenate([[-np.inf], interior, [np.inf]])
    edges.setflags(write=False)
    centres.setflags(write=False)
    return edges, centres


@functools.lru_cache(maxsize=None)
def _equal_mass_bins(precision: int) -> tuple[np.ndarray, np.ndarray]:
    count = 1 << precision
    interior, centres = np.empty(count - 1), np.empty(count)
    kernels.exact_normal_quantiles(np.arange(1, count) / count, interior)
    kernels.exact_normal_quantiles((np.arange(count) + 0.5) / count, centres)
    return _frozen(interior, centres)


@functools.lru_cache(maxsize=None)
def _legacy_equal_mass_bins(precision: int) -> tuple[np.ndarray, np.ndarray]:
    count = 1 << precision
    normal = NormalDist()
    interior = np.array([normal.inv_cdf(j / count) for j in range(1, count)], dtype=np.float64)
    return _frozen(interior, np.array([normal.inv_cdf((j + 0.5) / count) for j in range(count)], dtype=np.float64))


class GaussianPosterior(Elementwise):
    """N(mean, std) per element, discretised onto the bins and quantised to `precision` bits."""

    def __init__(self, mean, std, bins: LatentBins, precision: int = 18):
        self.kind = kernels.LEGACY_GAUSSIAN if bins.legacy else kernels.GAUSSIAN
        mean = _finite("mean", mean)
        std = _finite("std", std, positive=True)
        if mean.shape != std.shape:
            raise CoderError(f"mean {mean.shape} and std {std.shape} differ in shape")
        self.alphabet = bins.count
        self.precision = check_precision(precision, self.alphabet)
        self.shape = mean.shape
        self.bins = bins
        self.params = {"a": mean.reshape(-1, 1), "b": std.reshape(-1, 1), "c": bins.edges.reshape(1, -1)}


class MixturePrior(Codec):
    """Latent vectors (N, D) of bin indices under a mixture of K diagonal Gaussians, by nested bits-back.

    A mixture has no closed-form probability per bin to code with directly, so the
    component k of each vector is coded as a second latent: push pops k with its
    responsibility given the vector, pushes the vector under component k (each
    dimension discretised onto the bins), then pushes k under the mixture weights;
    pop undoes it in reverse. The net cost per vector is -log2 of its probability
    under the (quantised, discretised) mixture. Responsibilities come from the
    coder's own integer frequencies, so encoder and decoder compute the same ones.
    """

    def __init__(self, weights, means, stds, bins: LatentBins, count: int, precision: int = 24):
        self.weights = _finite("weights", weights)
        self.means = _finite("means", means)
        self.stds = _finite("stds", stds, positive=True)
        if self.weights.ndim != 1 or self.means.ndim != 2 or self.means.shape != self.stds.shape \
                or len(self.weights) != len(self.means):
            raise CoderError("weights (K,), means and stds (K, D) must agree")
        if np.any(self.weights < 0) or self.weights.sum() <= 0:
            raise CoderError("mixture weights must be non-negative with a positive sum")
        self.bins, self.count = bins, int(count)
        self.precision = check_precision(precision, max(bins.count, len(self.weights)))
        self.shape = (self.count, self.means.shape[1])

    def _component(self, k: np.ndarray) -> GaussianPosterior:
        return GaussianPosterior(self.means[k], self.stds[k], self.bins, self.precision)

    def _choice(self) -> Categorical:
        return Categorical(np.broadcast_to(self.weights, (self.count, len(self.weights))), self.precision)

    def responsibilities(self, indices: np.ndarray) -> Categorical:
        """The posterior over components of each vector, from the coded frequencies of its bins (in the
        bins' arithmetic: exact functions, or numpy's for files made before portable coding)."""
        legacy = self.bins.legacy
        flat = np.asarray(indices, dtype=np.int64).reshape(-1)
        log_likelihood = np.empty((self.count, len(self.weights)))
        for k in range(len(self.weights)):
            component = self._component(np.full(self.count, k))
            freqs = coding_ranges(flat, self.precision, component.kind, component.alphabet, component.params)[1]
            log_likelihood[:, k] = row_sums(log2(freqs.reshape(self.shape), legacy), legacy)
        log_post = log_likelihood + log2(np.maximum(self.weights, np.finfo(float).tiny), legacy)
        post = exp2(log_post - log_post.max(axis=1, keepdims=True), legacy)
        return Categorical(post, self.precision)

    def push(self, message: Message, indices) -> Message:
        indices = np.asarray(indices)
        if indices.shape != self.shape:
            raise CoderError(f"latents have shape {indices.shape}, the codec expects {self.shape}")
        message, k = self.responsibilities(indices).pop(message)
        message = self._component(k).push(message, indices)
        return self._choice().push(message, k)

    def pop(self, message: Message):
        message, k = self._choice().pop(message)
        message, indices = self._component(k).pop(message)
        return self.responsibilities(indices).push(message, k), indices
