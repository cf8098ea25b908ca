"""Bits per latent dimension for an image coded without bits-back (the first of a message).

Such an image pays for its latent in full, so a dimension that carries little
information should get few bins, and an unused one none (its latent is then 0).
Dimension d gets round(KL_d + offset) bits, clipped to 0..MAX_BITS, where KL_d
is its mean KL in bits over training images and the offset minimises the mean
cost (latent bits + pixel bits) of those images coded alone. The table is
stored in the model file (see modelfile.CODEC_PREFIX), so encoder and decoder
share it and the fingerprint covers it.

    bbvae allocate models/NAME [--images 300]   # fit it for an existing model file (fit_model_file)

Fitting changes the model file's fingerprint: .bbv files made before with that
file then name it as missing. `bbvae train` fits the table at every epoch.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from bbvae.codecs.direct import quantised_latents
from bbvae.models.modelfile import FIRST_LATENT_BITS as TABLE_NAME
from bbvae.models.modelfile import MAX_LATENT_BITS as MAX_BITS
from bbvae.models.modelfile import load_model, save_model
from bbvae.models.vae import VAE
from bbvae.training.sets import training_data

OFFSETS = np.arange(-1.0, 4.01, 0.25)


@torch.no_grad()
def fit(model: VAE, images: np.ndarray, coded: np.ndarray | None = None) -> np.ndarray:
    """The bits-per-dimension table (uint8, one entry per latent) for this model, fitted on images.

    `coded`: channels coded per image (photo patches of grey photographs code one), default all.
    """
    device = next(model.parameters()).device
    x = torch.from_numpy(np.array(images, order="C", copy=True)).to(device)
    coded = None if coded is None else torch.from_numpy(coded).to(device)
    mean, log_std = model.posterior(model.pixels(x))
    kl = 0.5 * (mean.pow(2) + torch.exp(2 * log_std) - 1 - 2 * log_std)
    kl_bits = kl.mean(0).double().cpu().numpy() / math.log(2)
    mean = mean.double().cpu().numpy()
    best, best_cost = None, math.inf
    for offset in OFFSETS:
        bits = np.clip(np.round(kl_bits + offset), 0, MAX_BITS).astype(np.uint8)
        z = torch.from_numpy(quantised_latents(mean, bits).astype(np.float32)).to(device)
        pixel_bits = -model.log_px(x, model.decode(z), coded).mean().item() / math.log(2)
        cost = pixel_bits + float(bits.sum())
        if cost < best_cost:
            best, best_cost = bits, cost
    return best


def fit_model_file(folder: str | Path, count: int) -> tuple[Path, np.ndarray, str]:
    """Fit the table of a trained model on the first `count` items it trained on and store it in its file.

    Returns the file, the table and the file's new fingerprint.
    """
    model, info = load_model(folder)
    torch.manual_seed(0)
    run = info.info  # what `bbvae train` iterated over: whole images (with a local model's margins) or patches
    images, coded = training_data(run["dataset"], run.get("patch"), 0, run.get("seed", 0), None, model.cfg.local,
                                  run.get("extra_photos")).allocation_set()
    bits = fit(model, images[:count], None if coded is None else coded[:count])
    return info.path, bits, save_model(info.path, model, info.info, {**info.codec, TABLE_NAME: bits})
