"""Latent priors, one per file, found by the name ModelConfig.prior holds (bbvae/models/priors/base.py)."""

from bbvae.models.priors import floating, mixture, normal, two_stage  # noqa: F401  (each registers its prior)
from bbvae.models.priors.base import LOG_STD_MAX, LOG_STD_MIN, PRIORS, CodingPrior, Prior, gaussian_log_prob

__all__ = ["LOG_STD_MAX", "LOG_STD_MIN", "PRIORS", "CodingPrior", "Prior", "gaussian_log_prob"]
