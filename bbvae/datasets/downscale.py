"""Clean training photographs from JPEG ones: average every FxF block of pixels.

A JPEG photograph carries the codec's 8x8 block artefacts and its smoothed
high frequencies, which a lossless model should not learn as if they were
natural image statistics. Averaging F x F blocks (F >= 4 spans half a JPEG
block) leaves a smaller photograph whose pixels are means of 16 or more
decoded values, close to what a camera sensor at that resolution would give.
The large wallpaper photographs of Debian's `mate-backgrounds` package become
extra training photographs this way (models/photo/README.md says how).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bbvae.datasets.sources import DataError
from bbvae.io.images import IMAGE_SUFFIXES, grey_or_rgb

SOURCE_SUFFIXES = IMAGE_SUFFIXES | {".jpg", ".jpeg"}  # JPEG files are what this is for


def block_mean(image: np.ndarray, factor: int) -> np.ndarray:
    """(H, W[, C]) uint8 -> (H // factor, W // factor[, C]) uint8: the rounded mean of each block (edges cropped)."""
    height, width = image.shape[0] // factor * factor, image.shape[1] // factor * factor
    if height == 0 or width == 0:
        raise ValueError(f"a {image.shape[1]}x{image.shape[0]} image is smaller than one {factor}x{factor} block")
    blocks = image[:height, :width].reshape(height // factor, factor, width // factor, factor, *image.shape[2:])
    return np.rint(blocks.mean(axis=(1, 3), dtype=np.float64)).astype(np.uint8)


def downscale_folder(source: str | Path, folder: str | Path, factor: int) -> list[tuple[Path, tuple[int, int]]]:
    """Write every image under `source`, block-averaged by `factor`, as a PNG file in `folder`.

    Returns each file written with its (width, height). Nothing is written when `source` holds no image.
    """
    from PIL import Image

    sources = sorted(p for p in Path(source).rglob("*") if p.suffix.lower() in SOURCE_SUFFIXES)
    if not sources:
        raise DataError(f"no images ({', '.join(sorted(SOURCE_SUFFIXES))}) under {source}")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sources:
        with Image.open(path) as image:
            pixels = grey_or_rgb(image)
        try:
            small = Image.fromarray(block_mean(pixels, factor))
        except ValueError as exc:  # smaller than one block
            raise DataError(f"{path}: {exc}") from None
        small.save(out / (path.stem + ".png"))
        written.append((out / (path.stem + ".png"), small.size))
    return written
