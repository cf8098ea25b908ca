"""The floating prior of the Batch Information Lower Bound (Fyffe, "There and Back Again", docs/VARIANTS.md).

N(0, S^2) with S^2 = Sigma + E_batch[mu^2] under a constant posterior variance
Sigma; the model stores a running average of S^2 (`prior_var`) and whitens its
latents by S, so the coded latents u = z / S have the prior N(0, I) and are coded
exactly as under the normal prior. The BILB objective itself is VAE.bilb_bpd.
"""

from __future__ import annotations

import torch

from bbvae.errors import ConfigError
from bbvae.models.priors.base import register
from bbvae.models.priors.normal import NormalPrior


@register
class FloatingPrior(NormalPrior):
    name = "floating"
    train_option = False  # chosen by `bbvae train --objective bilb`

    @classmethod
    def check(cls, cfg) -> None:
        super().check(cfg)
        if cfg.posterior != "constant":
            raise ConfigError("the floating prior (BILB) needs the constant posterior variance")

    def build(self, model) -> None:
        model.register_buffer("prior_var", torch.ones(self.cfg.latent))

    def latent_scale(self, model) -> torch.Tensor:
        return model.prior_var.sqrt()
