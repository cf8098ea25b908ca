"""Latents on the bins of equal mass under N(0, 1) (BB-ANS; DESIGN.md section 3).

2**precision bins cut the real line so that each holds the same prior mass: the
prior is uniform over bin indices, the posterior N(mean, std) is discretised
onto the same bins, and a decoded latent is its bin's prior median. Edges are
computed once per precision by one routine, so encoder and decoder share them.
"""

from __future__ import annotations

import functools
from statistics import NormalDist

import numpy as np

from . import kernels
from .codecs import Elementwise, Uniform, _finite
from .message import CoderError, check_precision

MAX_LATENT_PRECISION = 20


class LatentBins:
    """Bin edges and centres of the equal-mass discretisation of N(0, 1)."""

    def __init__(self, precision: int):
        if not 1 <= precision <= MAX_LATENT_PRECISION:
            raise CoderError(f"latent precision must be 1..{MAX_LATENT_PRECISION}, got {precision}")
        self.precision = precision
        self.count = 1 << precision
        self.edges, self.centres = _equal_mass_bins(precision)

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


@functools.lru_cache(maxsize=None)
def _equal_mass_bins(precision: int) -> tuple[np.ndarray, np.ndarray]:
    count = 1 << precision
    normal = NormalDist()
    interior = [normal.inv_cdf(j / count) for j in range(1, count)]
    edges = np.array([-np.inf] + interior + [np.inf], dtype=np.float64)
    centres = np.array([normal.inv_cdf((j + 0.5) / count) for j in range(count)], dtype=np.float64)
    edges.setflags(write=False)
    centres.setflags(write=False)
    return edges, centres


class GaussianPosterior(Elementwise):
    """N(mean, std) per element, discretised onto the bins and quantised to `precision` bits."""

    kind = kernels.GAUSSIAN

    def __init__(self, mean, std, bins: LatentBins, precision: int = 18):
        mean = _finite("mean", mean)
        std = _finite("std", std, positive=True)
        if mean.shape != std.shape:
            raise CoderError(f"mean {mean.shape} and std {std.shape} differ in shape")
        self.alphabet = bins.count
        self.precision = check_precision(precision, self.alphabet)
        self.shape = mean.shape
        self.bins = bins
        self.params = {"a": mean.reshape(-1, 1), "b": std.reshape(-1, 1), "c": bins.edges.reshape(1, -1)}
