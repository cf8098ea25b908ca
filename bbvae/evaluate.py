"""Model evaluation: negative ELBO and an importance-weighted bound, in bits/dim."""

from __future__ import annotations

import numpy as np
import torch

from .vae import VAE


@torch.no_grad()
def evaluate(model: VAE, images: np.ndarray, iwae_samples: int = 100, batch_size: int = 250,
             seed: int = 0, progress=None) -> dict:
    """Mean negative ELBO and IWAE estimate of -log p(x) over images (uint8, N x C x H x W).

    Seeded, so the same model and images give the same figures on every run.
    iwae_samples=0 skips the IWAE estimate (its value is then None).
    """
    if images.shape[1:] != (model.cfg.channels, model.cfg.height, model.cfg.width):
        raise ValueError(f"images of shape {images.shape[1:]} do not fit a model of "
                         f"{model.cfg.channels}x{model.cfg.height}x{model.cfg.width}")
    torch.manual_seed(seed)
    model.eval()
    elbo = iwae = 0.0
    starts = range(0, len(images), batch_size)
    for start in (progress(starts) if progress else starts):
        batch = torch.from_numpy(images[start:start + batch_size])
        elbo += model.negative_elbo_bpd(batch).sum().item()
        if iwae_samples:
            iwae += model.iwae_bpd(batch, iwae_samples).sum().item()
    return {"images": len(images), "elbo_bpd": elbo / len(images),
            "iwae_bpd": iwae / len(images) if iwae_samples else None, "iwae_samples": iwae_samples}
