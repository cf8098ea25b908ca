"""Latent priors of a VAE: N(0, I), a learnable mixture of Gaussians, the VampPrior, the floating prior,
or the two-stage prior.

The mixture priors are what the VAE literature compares against N(0, I):
`mog` learns K diagonal Gaussians and their weights; `vamp` (Tomczak and
Welling 2018) is the equal-weight mixture of the posteriors of K learned
pseudo-inputs. Both are coded with nested bits-back (bbvae.coder.MixturePrior).
`floating` is the prior of the Batch Information Lower Bound (Fyffe): N(0, S^2)
with S^2 = Sigma + E_batch[mu^2] under a constant posterior variance Sigma
(bbvae/models/vae.py); the model whitens its latents by S, so it is coded as N(0, I).
`two-stage` (Dai and Wipf 2019) is a second, small VAE over the latent vectors,
fitted to a trained model's posterior samples (bbvae/training/two_stage.py); it is coded
with nested bits-back through its own latent (bbvae/codecs/images.py).
"""

from __future__ import annotations

import math

import torch
from torch import nn

PRIORS = ("normal", "mog", "vamp", "floating", "two-stage")
MIXTURE_PRIORS = ("mog", "vamp")
LOG_2PI = math.log(2 * math.pi)
LOG_STD_MIN, LOG_STD_MAX = -9.0, 2.0  # Gaussian log std bounds: exp() can neither overflow nor vanish
SECOND_STAGE_HIDDEN = 256  # width of the two-stage prior's networks (small next to the image VAE)


def gaussian_log_prob(z: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Elementwise log N(z; mean, exp(log_std)^2) in nats."""
    return -0.5 * (((z - mean) * torch.exp(-log_std)) ** 2 + LOG_2PI) - log_std


class LearnedMixture(nn.Module):
    """A prior sum_k w_k N(mean_k, diag(std_k^2)); `components(encoder)` gives (log w, means, log stds)."""

    def __init__(self, kind: str, components: int, latent: int, input_shape: tuple[int, int, int]):
        super().__init__()
        self.kind = kind
        if kind == "mog":
            self.logits = nn.Parameter(torch.zeros(components))
            self.means = nn.Parameter(torch.randn(components, latent))
            self.log_stds = nn.Parameter(torch.zeros(components, latent))
        else:  # vamp: pseudo-inputs on the pixel scale, through the model's own encoder
            self.pseudo_inputs = nn.Parameter(127.5 + 40.0 * torch.randn(components, *input_shape))

    def components(self, encoder: nn.Module) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.kind == "mog":
            return torch.log_softmax(self.logits, 0), self.means, self.log_stds
        means, log_stds = encoder(self.pseudo_inputs)
        return torch.full((len(means),), -math.log(len(means)), device=means.device), means, log_stds

    def log_prob(self, z: torch.Tensor, encoder: nn.Module) -> torch.Tensor:
        """log p(z) in nats per latent vector, z (B, D)."""
        log_weights, means, log_stds = self.components(encoder)
        per_component = gaussian_log_prob(z[:, None], means[None], log_stds[None]).sum(2)
        return torch.logsumexp(per_component + log_weights[None], dim=1)


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
