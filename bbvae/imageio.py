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


def encode_image(pixels: np.ndarray, name: str = "") -> bytes:
    """The pixels as an image file in the lossless format the name's suffix asks for (PNG otherwise)."""
    from PIL import Image

    image_format = FORMAT_OF_SUFFIX.get(os.path.splitext(name)[1].lower(), "PNG")
    options = {"lossless": True, "quality": 100, "method": 6} if image_format == "WEBP" else {}
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format, **options)
    return buffer.getvalue()
