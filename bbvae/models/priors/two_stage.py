"""The two-stage prior (Dai and Wipf 2019): a second, small VAE over the latent vectors.

Fitted to a trained model's posterior samples (bbvae/training/two_stage.py). It
is coded with nested bits-back through its own latent u: pushing z pops u with
q(u|z), pushes z under p(z|u) on the latent bins and pushes u under N(0, I); its
net cost is -log2 p(z) up to the second VAE's own bound.
"""

from __future__ import annotations

import torch
from torch import nn

from bbvae.coder import BitsBack
from bbvae.models.priors.base import LOG_2PI, LOG_STD_MAX, LOG_STD_MIN, CodingPrior, Prior, gaussian_log_prob, register

SECOND_STAGE_HIDDEN = 256  # width of the two-stage prior's networks (small next to the image VAE)


def _mlp(inputs: int, outputs: int) -> nn.Sequential:
    h = SECOND_STAGE_HIDDEN
    return nn.Sequential(nn.Linear(inputs, h), nn.SiLU(), nn.Linear(h, h), nn.SiLU(), nn.Linear(h, outputs))


def _gaussian(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean, log_std = out.chunk(2, dim=1)
    return mean, torch.clamp(log_std, LOG_STD_MIN, LOG_STD_MAX)


class SecondStage(nn.Module):
    """The two-stage prior: p(z) = integral of N(z; mu(u), diag sigma(u)^2) N(u; 0, I) du, with q(u|z)."""

    def __init__(self, latent: int, second: int):
        super().__init__()
        self.second = second
        self.encoder = _mlp(latent, 2 * second)
        self.decoder = _mlp(second, 2 * latent)

    def posterior(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log std of q(u|z)."""
        return _gaussian(self.encoder(z))

    def likelihood(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log std of p(z|u)."""
        return _gaussian(self.decoder(u))

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """A one-sample importance estimate of log p(z) in nats per vector (reparameterised): its
        expectation is the second stage's ELBO, and exp of it is unbiased for p(z), so the image
        model's IWAE weights stay valid."""
        mean, log_std = self.posterior(z)
        u = mean + torch.exp(log_std) * torch.randn_like(mean)
        z_mean, z_log_std = self.likelihood(u)
        log_pz_u = gaussian_log_prob(z, z_mean, z_log_std).sum(1)
        log_pu = -0.5 * (u.pow(2) + LOG_2PI).sum(1)
        return log_pz_u + log_pu - gaussian_log_prob(u, mean, log_std).sum(1)


@register
class TwoStagePrior(Prior):
    name = "two-stage"
    takes_second_latent = True

    def build(self, model) -> None:
        model.prior = SecondStage(self.cfg.latent, self.cfg.prior_latent)

    def log_prob(self, model, z: torch.Tensor) -> torch.Tensor:
        return model.prior.log_prob(z)

    def coding(self, model, networks, bins, precision: int, legacy: bool) -> CodingPrior:
        def gaussian_on_bins(part: str, indices):
            mean, std = networks.second_stage(part, bins.values(indices))
            return bins.posterior(mean, std, precision)

        return CodingPrior(lambda count: BitsBack(bins.prior((count, model.prior.second)),
                                                  lambda u: gaussian_on_bins("likelihood", u),
                                                  lambda z: gaussian_on_bins("posterior", z)))
