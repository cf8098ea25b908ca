"""Model evaluation: negative ELBO and an importance-weighted bound, in bits/dim."""

from __future__ import annotations

import numpy as np
import torch

from bbvae.errors import ConfigError
from bbvae.models import fixed_point
from bbvae.models.context import images_with_context
from bbvae.models.likelihoods.local_mixture import CONTEXT, CONTEXT_RIGHT
from bbvae.models.vae import VAE


@torch.no_grad()
def evaluate(model: VAE, images: np.ndarray, iwae_samples: int = 100, batch_size: int = 250,
             seed: int = 0, progress=None, coded: np.ndarray | None = None, as_coded: bool = False) -> dict:
    """Negative ELBO and IWAE estimate of -log p(x) in bits/dim over all coded values of images, and the
    ELBO's KL term (`kl_bpd`, and `kl_share` of the ELBO): how much of the rate the latent carries.

    as_coded: the bounds of the model as bbvae codes with it, its networks in the portable fixed-point
    arithmetic (bbvae/models/fixed_point.py); otherwise of the float32 networks as trained.

    images: uint8 (N, C, H, W), for local models with the context rows and columns
    or without them (then the constant margins are added; bbvae/models/context.py); coded: channels coded per image (default all). Seeded, so the
    same model and images give the same figures on every run. iwae_samples=0 skips
    the IWAE estimate (its value is then None).
    """
    cfg = model.cfg
    if cfg.local and images.shape[2:] == (cfg.height, cfg.width):
        images = images_with_context(images)  # whole images: their margins are the constant
    rows, columns = (CONTEXT, CONTEXT + CONTEXT_RIGHT) if cfg.local else (0, 0)
    if images.shape[1:] != (cfg.channels, cfg.height + rows, cfg.width + columns):
        raise ConfigError(f"images of shape {images.shape[1:]} do not fit a model of "
                         f"{cfg.channels}x{cfg.height}x{cfg.width}" + (" (plus context)" if cfg.local else ""))
    torch.manual_seed(seed)
    device = next(model.parameters()).device
    model = fixed_point.coded_model(model) if as_coded else model.eval()
    elbo = kl = iwae = dims = 0.0
    starts = range(0, len(images), batch_size)
    for start in (progress(starts) if progress else starts):
        batch = torch.from_numpy(images[start:start + batch_size]).to(device)
        batch_coded = None if coded is None else torch.from_numpy(coded[start:start + batch_size]).to(device)
        weights = torch.as_tensor(model.coded_dims(batch, batch_coded), dtype=torch.float32, device=device).expand(len(batch))
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):  # the same latent samples twice
            batch_elbo = model.negative_elbo_bpd(batch, batch_coded)
        reconstruction = model.negative_elbo_bpd(batch, batch_coded, beta=0.0)
        elbo += (batch_elbo * weights).sum().item()
        kl += ((batch_elbo - reconstruction) * weights).sum().item()
        if iwae_samples:
            iwae += (model.iwae_bpd(batch, iwae_samples, batch_coded) * weights).sum().item()
        dims += weights.sum().item()
    return {"images": len(images), "arithmetic": "portable fixed-point" if as_coded else "float32", "elbo_bpd": elbo / dims,
            "kl_bpd": kl / dims, "kl_share": kl / elbo if elbo else None,
            "iwae_bpd": iwae / dims if iwae_samples else None, "iwae_samples": iwae_samples}
