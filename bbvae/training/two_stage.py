"""Fitting the two-stage prior (Dai and Wipf 2019) to a trained VAE: `bbvae fit-prior`.

Stage one is any trained whole-image VAE with the N(0, I) prior. Its encoder
stays fixed; the second stage, a small VAE over latent vectors
(bbvae/priors.SecondStage), is fitted to samples of q(z|x) over the training
images, so it learns the aggregate posterior that N(0, I) only approximates.
The result is the same image model with the second stage as its prior, coded
through nested bits-back (bbvae/codecs/images.py).
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import numpy as np
import torch

from bbvae.datasets import sources as data
from bbvae.errors import ConfigError
from bbvae.models.evaluate import evaluate
from bbvae.models.modelfile import load_model, save_model
from bbvae.models.vae import VAE

POSTERIOR_BATCH = 500


@torch.no_grad()
def posterior_samples(model: VAE, images: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Means and stds of q(z|x) for every image, in the coded latent space: what the second stage fits."""
    model.eval()
    means, stds = [], []
    for start in range(0, len(images), POSTERIOR_BATCH):
        mean, log_std = model.posterior(torch.from_numpy(images[start:start + POSTERIOR_BATCH]))
        means.append(mean)
        stds.append(torch.exp(log_std))
    return torch.cat(means), torch.cat(stds)


def with_second_stage(first: VAE, second_latent: int) -> VAE:
    """The first stage's model with a fresh second stage as its prior."""
    if first.cfg.prior != "normal":
        raise ConfigError("the two-stage prior is fitted to a whole-image model with the normal prior")
    model = VAE(dataclasses.replace(first.cfg, prior="two-stage", prior_latent=second_latent))
    missing = model.load_state_dict(first.state_dict(), strict=False).missing_keys
    assert all(name.startswith("prior.") for name in missing), missing
    return model


def fit_second_stage(model: VAE, means: torch.Tensor, stds: torch.Tensor, epochs: int, batch_size: int = 256,
                     lr: float = 1e-3, say=print) -> list[float]:
    """Adam on the second stage only, over fresh samples z ~ q(z|x) each epoch (cosine learning rate);
    returns its mean bound on -log2 p(z) per epoch."""
    optimiser = torch.optim.Adam(model.prior.parameters(), lr=lr)
    steps = max(len(means) // batch_size, 1)
    bounds = []
    model.prior.train()
    for epoch in range(epochs):
        order = torch.randperm(len(means))
        total = 0.0
        for step in range(steps):
            pick = order[step * batch_size:(step + 1) * batch_size]
            z = means[pick] + stds[pick] * torch.randn_like(means[pick])
            loss = -model.prior.log_prob(z).mean()
            for group in optimiser.param_groups:
                group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * (epoch + step / steps) / epochs))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += loss.item()
        bounds.append(total / steps / math.log(2))
        say(f"second stage, epoch {epoch + 1}/{epochs}: -log2 p(z) <= {bounds[-1]:.2f} bits per latent vector")
    return bounds


def fit_prior(model_path: str, dataset: str, out: str, second_latent: int = 16, epochs: int = 20,
              batch_size: int = 256, lr: float = 1e-3, seed: int = 0, threads: int | None = None, say=print) -> Path:
    """Fit a second stage to `model_path`'s latents on `dataset`'s train split; write OUT/model.safetensors."""
    first, info = load_model(model_path)
    if info.config.patches:
        raise ConfigError("the two-stage prior is fitted to a whole-image model, not a patch model")
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = with_second_stage(first, second_latent)
    train, test = data.load(dataset, "train"), data.load(dataset, "test")
    began = time.time()
    fit_second_stage(model, *posterior_samples(first, train), epochs, batch_size, lr, say)
    model.eval()
    result = evaluate(model, test, iwae_samples=0)
    facts = dict(info.info)
    facts.update(test_elbo_bpd=result["elbo_bpd"], first_stage=str(info.path), first_stage_test_elbo_bpd=info.info.get("test_elbo_bpd"),
                 second_stage_epochs=epochs, second_stage_seconds=round(time.time() - began, 1))
    target = Path(out) / "model.safetensors"
    save_model(target, model, facts, info.codec)  # the first image is coded without the prior: same table
    say(f"two-stage model: test -ELBO {result['elbo_bpd']:.4f} bits/dim (first stage alone: {info.info.get('test_elbo_bpd')})")
    return target
