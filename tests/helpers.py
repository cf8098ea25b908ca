"""Small fixtures shared by the model, training and CLI tests."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from bbvae.models.vae import VAE, ModelConfig, Objective

TINY = ModelConfig(channels=1, height=8, width=8, hidden=8, blocks=1, latent=3)


def tiny_model(seed: int = 0, cfg: ModelConfig = TINY) -> VAE:
    import torch

    torch.manual_seed(seed)
    return VAE(cfg).eval()


def blob_images(count: int, size: int = 8, seed: int = 0) -> np.ndarray:
    """Grey images (N, 1, size, size): a bright square on black, like tiny digits."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 1, size, size), dtype=np.uint8)
    for image in images:
        r, c = rng.integers(1, size - 3, 2)
        image[0, r:r + 3, c:c + 3] = rng.integers(100, 256)
    return images


def image_folder(root: Path, count: int = 40, size: int = 8, seed: int = 0) -> Path:
    """A folder of blob PNGs."""
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(blob_images(count, size, seed)):
        Image.fromarray(image[0]).save(root / f"img{index:03d}.png")
    return root


def run_cli(*args: str, env: dict | None = None, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """Run `bbvae ARGS` in a fresh interpreter, as a user would."""
    full_env = {**os.environ, **(env or {})}
    kwargs.setdefault("text", True)
    return subprocess.run([sys.executable, "-m", "bbvae.cli.main", *args], capture_output=True,
                          env=full_env, timeout=timeout, **kwargs)


# A tiny photo (patch) model: RGB 8x8 patches, a two-component local mixture likelihood.
PHOTO = ModelConfig(channels=3, height=8, width=8, hidden=8, blocks=1, latent=4, mixture=2, local_neighbours=6, patches=True)


def ar_image(height: int, width: int, seed: int = 0, scale: float = 2.0, channels: int = 3) -> np.ndarray:
    """Smooth pixels a local model learns in a few steps: 0.75 * left + 0.25 * up plus logistic noise.

    Classical coders have no such predictor, so a briefly trained patch model codes these
    images in fewer bytes than PNG and WebP (about 10-15% fewer at 24x24); pure noise goes the other way.
    """
    rng = np.random.default_rng(seed)
    noise = rng.logistic(0.0, scale, (height, width, channels))
    out = np.zeros((height, width, channels))
    for y in range(height):
        for x in range(width):
            left = out[y, x - 1] if x else (out[y - 1, 0] if y else np.full(channels, 128.0))
            up = out[y - 1, x] if y else left
            out[y, x] = np.clip(np.round(0.75 * left + 0.25 * up + noise[y, x]), 0, 255)
    out = out.astype(np.uint8)
    return out[:, :, 0] if channels == 1 else out


@contextlib.contextmanager
def one_torch_thread():
    """Train on one thread: these models are tiny, and on a busy machine a second thread only waits (100x slower)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def trained_photo_model(steps: int = 60, seed: int = 0) -> VAE:
    """PHOTO trained for a few Adam steps on ar_image crops (about a second): it beats PNG/WebP on ar_image."""
    import torch

    from bbvae.training.crops import PatchSampler

    torch.manual_seed(seed)
    model = VAE(PHOTO)
    sampler = PatchSampler([ar_image(32, 32, seed=100 + s) for s in range(4)], PHOTO.height)
    rng = np.random.default_rng(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    with one_torch_thread():
        for _ in range(steps):
            batch, coded = sampler.random(rng, 32)
            loss = model.negative_elbo_bpd(torch.from_numpy(batch), torch.from_numpy(coded)).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return model.eval()


def model_inputs(model: VAE, images: np.ndarray) -> torch.Tensor:
    """What the model's objective reads: the images, inside their causal margins for a local model."""
    from bbvae.models.context import images_with_context

    return torch.from_numpy(images_with_context(images) if model.cfg.local else images)


def trained(variant: dict, steps: int, objective: Objective = Objective()) -> tuple[VAE, float, float]:
    """A tiny model of the variant after `steps` Adam steps on one batch; its loss before and after."""
    torch.manual_seed(0)
    model = VAE(dataclasses.replace(TINY, **variant))
    x = model_inputs(model, blob_images(32, size=TINY.height))

    def loss() -> torch.Tensor:
        torch.manual_seed(1)  # the same posterior sample before and after
        return model(x, None, objective).mean()

    with one_torch_thread():
        with torch.no_grad():
            before = loss().item()
        optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
        for _ in range(steps):
            optimiser.zero_grad()
            loss().backward()
            optimiser.step()
        with torch.no_grad():
            after = loss().item()
    return model.eval(), before, after


def with_fixed_crc(data: bytes) -> bytes:
    """A .bbv file whose payload checksum matches its (altered) bytes again."""
    import zlib

    return data[:-8] + zlib.crc32(data[:-8]).to_bytes(4, "little") + data[-4:]
