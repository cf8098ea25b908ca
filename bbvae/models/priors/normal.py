"""The standard normal prior N(0, I): analytic KL, coded as the uniform distribution over equal-mass bins."""

from __future__ import annotations

import torch

from bbvae.models.priors.base import LOG_2PI, CodingPrior, Prior, register


@register
class NormalPrior(Prior):
    name = "normal"
    importance_weighted = True
    train_option = True

    def log_prob(self, model, z: torch.Tensor) -> torch.Tensor:
        return -0.5 * (z.pow(2) + LOG_2PI).sum(1)

    def kl(self, model, mean, log_std, z, free_bits: float) -> torch.Tensor:
        """Analytic per dimension; free bits (Kingma et al. 2016): a dimension whose batch-mean KL is below
        free_bits nats costs free_bits instead, with no gradient."""
        per_dim = 0.5 * (mean.pow(2) + torch.exp(2 * log_std) - 1.0 - 2 * log_std)
        if free_bits > 0:
            per_dim = torch.where(per_dim.mean(0, keepdim=True) < free_bits, torch.full_like(per_dim, free_bits), per_dim)
        return per_dim.sum(1)

    def coding(self, model, networks, bins, precision: int, legacy: bool) -> CodingPrior:
        return CodingPrior(lambda count: bins.prior((count, self.cfg.latent)))
