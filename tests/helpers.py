"""Small fixtures shared by the model, training and CLI tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from bbvae.vae import VAE, ModelConfig

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
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True,
                          env=full_env, timeout=timeout, **kwargs)
