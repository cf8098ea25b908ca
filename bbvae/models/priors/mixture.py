"""Mixture priors: a learned mixture of Gaussians (`mog`) and the VampPrior (`vamp`, Tomczak and Welling 2018).

`mog` learns K diagonal Gaussians and their weights; `vamp` is the equal-weight
mixture of the posteriors of K learned pseudo-inputs. Both are coded with nested
bits-back (coder.MixturePrior). A mixture may hold latents far outside N(0, 1),
where that distribution's equal-mass bins are wide and the decoder would see
coarse latents, so the coder works on the latents standardised by the mixture's
own mean and std per dimension, z = shift + scale * u, on u's bins.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from bbvae.coder import MixturePrior
from bbvae.coder.codecs import exact_exp, row_sums
from bbvae.models.priors.base import LOG_STD_MAX, LOG_STD_MIN, CodingPrior, Prior, gaussian_log_prob, register


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


def mixture_moments(weights: np.ndarray, means: np.ndarray, stds: np.ndarray,
                    legacy: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per dimension of a mixture of diagonal Gaussians (weights (K,), means and stds (K, D)),
    with correctly rounded sums (numpy's matrix products for files made before portable coding)."""
    if legacy:
        w = weights / weights.sum()
        mean = w @ means
        second = w @ (stds ** 2 + means ** 2)
    else:
        w = weights / row_sums(weights)
        mean = row_sums((w[:, None] * means).T)
        second = row_sums((w[:, None] * (stds ** 2 + means ** 2)).T)
    return mean, np.sqrt(np.maximum(second - mean ** 2, 1e-12))


class _MixturePrior(Prior):
    takes_components = True
    whole_images_only = True
    train_option = True

    def build(self, model) -> None:
        cfg = self.cfg
        model.prior = LearnedMixture(self.name, cfg.prior_components, cfg.latent, (cfg.channels, cfg.height, cfg.width))

    def log_prob(self, model, z: torch.Tensor) -> torch.Tensor:
        return model.prior.log_prob(z, model.encoder)

    def components(self, model, networks, legacy: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(weights, means, stds) as float64 arrays in the file's arithmetic."""
        if legacy:  # torch float32, as files before portable coding were made
            with torch.no_grad():
                log_weights, means, log_stds = model.prior.components(model.encoder)
                log_stds = torch.clamp(log_stds, LOG_STD_MIN, LOG_STD_MAX)
                return tuple(t.detach().double().cpu().numpy() for t in (log_weights.exp(), means, log_stds.exp()))
        weights, means, log_stds = self.portable_components(model, networks)
        return weights / row_sums(weights), means, exact_exp(log_stds)

    def portable_components(self, model, networks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unnormalised weights, means and log stds from the float32 parameters by exact operations."""
        raise NotImplementedError

    def coding(self, model, networks, bins, precision: int, legacy: bool) -> CodingPrior:
        weights, means, stds = self.components(model, networks, legacy)
        shift, scale = mixture_moments(weights, means, stds, legacy)
        return CodingPrior(lambda count: MixturePrior(weights, (means - shift) / scale, stds / scale, bins, count, precision),
                           shift, scale)


@register
class MixtureOfGaussians(_MixturePrior):
    name = "mog"

    def portable_components(self, model, networks):
        logits = model.prior.logits.detach().double().numpy()
        log_stds = np.clip(model.prior.log_stds.detach().double().numpy(), LOG_STD_MIN, LOG_STD_MAX)
        return exact_exp(logits - logits.max()), model.prior.means.detach().double().numpy(), log_stds


@register
class VampPrior(_MixturePrior):
    name = "vamp"

    def portable_components(self, model, networks):
        """The posteriors of the pseudo-inputs through the fixed-point encoder, equally weighted."""
        means, log_stds = networks.encoder_outputs(model.prior.pseudo_inputs.detach().double().numpy())
        return np.ones(len(means)), means, log_stds
