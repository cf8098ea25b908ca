"""Latent priors of a VAE: N(0, I), a learnable mixture of Gaussians, or the VampPrior.

The mixture priors are what the VAE literature compares against N(0, I):
`mog` learns K diagonal Gaussians and their weights; `vamp` (Tomczak and
Welling 2018) is the equal-weight mixture of the posteriors of K learned
pseudo-inputs. Both are coded with nested bits-back (bbvae.coder.MixturePrior).
"""

from __future__ import annotations

import math

import torch
from torch import nn

PRIORS = ("normal", "mog", "vamp")
LOG_2PI = math.log(2 * math.pi)


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
