"""What a latent prior is to bbvae: its parameters, its torch log-density, and the codec that codes under it.

Each prior is one class in one file of this package, registered by the name that
ModelConfig.prior holds (bbvae/models/priors/__init__.py imports them all):
training asks it for log p(z) and the KL (bbvae/models/vae.py), coding asks it
for the codec of the latents (bbvae/codecs/images.py), computed in the
arithmetic the file records (bbvae/models/arithmetic.py). Adding a prior is one
class in one new file here, plus its test.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np
import torch

from bbvae.errors import ConfigError

LOG_2PI = math.log(2 * math.pi)
LOG_STD_MIN, LOG_STD_MAX = -9.0, 2.0  # Gaussian log std bounds: exp() can neither overflow nor vanish
PRIORS: dict[str, type["Prior"]] = {}


def register(cls: type["Prior"]) -> type["Prior"]:
    PRIORS[cls.name] = cls
    return cls


def gaussian_log_prob(z: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Elementwise log N(z; mean, exp(log_std)^2) in nats."""
    return -0.5 * (((z - mean) * torch.exp(-log_std)) ** 2 + LOG_2PI) - log_std


@dataclasses.dataclass
class CodingPrior:
    """How a codec codes latents under a prior: on the bins of u = (z - shift) / scale, with `codec(count)`
    the codec of `count` latent vectors of u."""

    codec: Callable[[int], object]
    shift: np.ndarray | float = 0.0
    scale: np.ndarray | float = 1.0


class Prior:
    """A prior p(z) over the coded latents; subclasses set the flags and override what differs from N(0, I)."""

    name = ""
    takes_components = False  # ModelConfig.prior_components: K >= 1 mixture components
    takes_second_latent = False  # ModelConfig.prior_latent: the dimensions of a second latent
    whole_images_only = False  # not for local (neighbour-reading) models
    importance_weighted = False  # importance-weighted bits-back (coder.ImportanceBitsBack) can code under it
    train_option = False       # chosen with `bbvae train --prior NAME`

    def __init__(self, cfg):
        self.cfg = cfg

    @classmethod
    def check(cls, cfg) -> None:
        """ConfigError unless the config's prior settings fit this prior."""
        if cls.takes_components != (cfg.prior_components != 0) or cfg.prior_components < 0:
            raise ConfigError(f"the {cls.name} prior " + ("needs prior_components >= 1" if cls.takes_components
                                                         else "takes no prior_components"))
        if cls.takes_second_latent != (cfg.prior_latent > 0):
            raise ConfigError(f"the {cls.name} prior " + ("needs prior_latent >= 1" if cls.takes_second_latent
                                                         else "takes no prior_latent"))
        if cls.whole_images_only and cfg.local:
            raise ConfigError(f"the {cls.name} prior is for plain (whole-image) models")

    def build(self, model) -> None:
        """Register the prior's parameters on the VAE, under the names its model files use."""

    def latent_scale(self, model) -> torch.Tensor | None:
        """Per-dimension scale between the encoder's latents and the coded ones (None: the same)."""
        return None

    def log_prob(self, model, z: torch.Tensor) -> torch.Tensor:
        """log p(z) in nats per latent vector, z (B, D) in the coded latent space."""
        raise NotImplementedError

    def kl(self, model, mean: torch.Tensor, log_std: torch.Tensor, z: torch.Tensor, free_bits: float) -> torch.Tensor:
        """KL(q(z|x) || p(z)) per image in nats: a one-sample estimate at z; with free bits (nats per
        dimension) the whole latent costs at least free_bits * D."""
        kl = gaussian_log_prob(z, mean, log_std).sum(1) - self.log_prob(model, z)
        return torch.clamp(kl, min=free_bits * self.cfg.latent) if free_bits > 0 else kl

    def coding(self, model, networks, bins, precision: int, legacy: bool) -> CodingPrior:
        """The codec of the latents on `bins` (coder.LatentBins), posterior `precision` bits; `networks`: the
        model's coding networks in the file's arithmetic."""
        raise NotImplementedError
