"""Reading images losslessly and writing them back as PNG.

Only what bbvae codes exactly is accepted; anything else gets a one-line reason
(ImageError) instead of a silently different result.
"""

from __future__ import annotations

import io
import os

import numpy as np

LOSSY_FORMATS = {"JPEG", "MPO"}
CHANNELS_OF_MODE = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}


class ImageError(Exception):
    """An image that cannot be read or is not coded losslessly."""


def read_image(source: str | os.PathLike | bytes, label: str | None = None) -> np.ndarray:
    """Pixels as uint8 (H, W) for grey images, (H, W, C) otherwise."""
    from PIL import Image, UnidentifiedImageError

    label = label or str(source)
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            image.load()
            if image.format in LOSSY_FORMATS:
                raise ImageError(f"{label}: JPEG is already lossy; bbvae compresses lossless images (PNG, BMP, TIFF, PPM, WebP lossless)")
            if image.mode not in CHANNELS_OF_MODE:
                raise ImageError(f"{label}: image mode {image.mode} is not supported (8-bit L, LA, RGB, RGBA only)")
            return np.asarray(image).copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise ImageError(f"{label}: no such file") from None
        raise ImageError(f"{label}: not a readable image ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None


FORMAT_OF_SUFFIX = {".png": "PNG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF", ".ppm": "PPM",
                    ".pgm": "PPM", ".pnm": "PPM", ".webp": "WEBP"}
# channel counts each format stores exactly (checked by writing and reading back every mode with Pillow)
EXACT_CHANNELS = {"PNG": {1, 2, 3, 4}, "TIFF": {1, 2, 3, 4}, "BMP": {1, 3}, "PPM": {1, 3}, "WEBP": {3, 4}}


def exact_format(name: str, channels: int) -> str | None:
    """The format a file name asks for (PNG when it names none), or None if it cannot hold the pixels exactly."""
    image_format = FORMAT_OF_SUFFIX.get(os.path.splitext(name)[1].lower(), "PNG")
    return image_format if channels in EXACT_CHANNELS[image_format] else None


def check_exact(name: str, channels: int) -> str:
    """The format for `name`, or ImageError when it cannot hold `channels`-channel pixels exactly."""
    image_format = exact_format(name, channels)
    if image_format is None:
        raise ImageError(f"{name}: that format cannot hold {channels}-channel pixels exactly; use .png")
    return image_format


def encode_image(pixels: np.ndarray, name: str = "") -> bytes:
    """The pixels as an image file in the format the name asks for."""
    from PIL import Image

    image_format = check_exact(name, 1 if pixels.ndim == 2 else pixels.shape[2])
    options = {"lossless": True, "quality": 100, "method": 6, "exact": True} if image_format == "WEBP" else {}
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format, **options)
    return buffer.getvalue()
