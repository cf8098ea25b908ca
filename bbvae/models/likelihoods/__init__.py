"""Pixel likelihoods, one per file, picked by ModelConfig's mixture and local_neighbours (bbvae/models/likelihoods/base.py)."""

from bbvae.models.likelihoods import local_mixture, logistic, logistic_mixture  # noqa: F401  (each registers its likelihood)
from bbvae.models.likelihoods.base import LIKELIHOODS, Likelihood, likelihood_for

__all__ = ["LIKELIHOODS", "Likelihood", "likelihood_for"]
