"""The context a local model reads around an image: two rows above, two columns left and right.

A local model predicts each pixel from neighbours up to two rows above, two
columns left and two columns right of it (bbvae/models/likelihoods/local_mixture.py), and
pixels are decoded in raster order across the whole image width
(bbvae/codecs/patches.py), so all of those are decoded before it.
`with_context` surrounds an image with two rows of 128 above, two columns left
and two columns right, so that every pixel has those neighbours (image (y, x)
sits at context (y + 2, x + 2)); the first rows and columns of an image are
predicted from the constant. Training crops carry the same margins
(bbvae/training/crops.py), so that patches are modelled as they are coded.
"""

from __future__ import annotations

import numpy as np

from bbvae.coder.kernels import LOCAL_CONTEXT as CONTEXT
from bbvae.coder.kernels import LOCAL_CONTEXT_RIGHT as CONTEXT_RIGHT
from bbvae.io.images import as_rgb

CONTEXT_FILL = 128
PHOTO_CHANNELS = 3


def with_context(image: np.ndarray) -> np.ndarray:
    """(H, W, C) uint8 -> (H + 2, W + 4, C): the image inside its margins of 128 (module docstring)."""
    height, width = image.shape[:2]
    out = np.full((height + CONTEXT, width + CONTEXT + CONTEXT_RIGHT) + image.shape[2:], CONTEXT_FILL, dtype=np.uint8)
    out[CONTEXT:, CONTEXT:CONTEXT + width] = image
    return out


def images_with_context(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) uint8 -> (N, C, H + 2, W + 4): each image inside its own margins, as with_context."""
    count, channels, height, width = images.shape
    out = np.full((count, channels, height + CONTEXT, width + CONTEXT + CONTEXT_RIGHT), CONTEXT_FILL, dtype=np.uint8)
    out[:, :, CONTEXT:, CONTEXT:CONTEXT + width] = images
    return out


def as_photo_channels(image: np.ndarray) -> tuple[np.ndarray, int]:
    """(H, W, 3) pixels for the photo model, and how many of its channels are real (1 for grey, 3 for colour)."""
    if image.ndim == 2:
        return as_rgb(image), 1
    if image.shape[2] != PHOTO_CHANNELS:
        raise ValueError(f"photo models code grey or RGB pixels, got {image.shape[2]} channels")
    return image, PHOTO_CHANNELS
