"""Classical lossless peers (PNG, WebP, JPEG XL, xz, zstd) on the same images, for benchmarks.

imagecodecs and zstandard are benchmark-only dependencies (`pip install -e .[bench]`).
"""

from __future__ import annotations

import lzma
import math

import numpy as np


def _rgb(image: np.ndarray) -> np.ndarray:
    """WebP holds RGB(A) only: grey (and grey + alpha) go in as equal colour channels."""
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.shape[2] == 2:
        return np.dstack([image[:, :, :1].repeat(3, axis=2), image[:, :, 1:]])
    return image


def _shaped(decoded, shape) -> np.ndarray:
    """Decoded pixels in the original shape: grey that went in as RGB comes back grey, and an
    all-opaque alpha that WebP dropped comes back."""
    array = np.asarray(decoded)
    channels = 1 if len(shape) == 2 else shape[2]
    if array.ndim == 3 and channels in (2, 4) and array.shape[2] == 3:
        array = np.dstack([array, np.full(array.shape[:2], 255, np.uint8)])
    if array.ndim == 3 and channels in (1, 2):
        array = array[:, :, 0] if channels == 1 else array[:, :, [0, 3]]
    return array.reshape(shape)


def codecs(threads: int = 1) -> dict:
    """name -> (encode(image) -> bytes, decode(bytes, shape) -> image), all lossless."""
    import imagecodecs
    import zstandard

    def pixels(encode, decode):
        return encode, lambda data, shape: _shaped(decode(data), shape)

    def raw(encode, decode):
        return pixels(lambda image: encode(np.ascontiguousarray(image).tobytes()),
                      lambda data: np.frombuffer(decode(data), dtype=np.uint8))

    return {
        "PNG": pixels(lambda im: imagecodecs.png_encode(im, level=9), imagecodecs.png_decode),
        "WebP lossless": pixels(lambda im: imagecodecs.webp_encode(_rgb(im), lossless=True, level=100, method=6),
                                imagecodecs.webp_decode),
        "JPEG XL e7": pixels(lambda im: imagecodecs.jpegxl_encode(im, lossless=True, effort=7, numthreads=threads),
                             lambda data: imagecodecs.jpegxl_decode(data, numthreads=threads)),
        "JPEG XL e10": pixels(lambda im: imagecodecs.jpegxl_encode(im, lossless=True, effort=10, numthreads=threads),
                              lambda data: imagecodecs.jpegxl_decode(data, numthreads=threads)),
        "xz -9e": raw(lambda b: lzma.compress(b, preset=9 | lzma.PRESET_EXTREME), lzma.decompress),
        "zstd -19": raw(zstandard.ZstdCompressor(level=19).compress, zstandard.ZstdDecompressor().decompress),
    }


def grid(images: np.ndarray) -> np.ndarray:
    """All images tiled into one near-square picture (the 'whole set as one file' for image codecs)."""
    count, height, width = images.shape[:3]
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    canvas = np.zeros((rows * height, columns * width) + images.shape[3:], dtype=np.uint8)
    for index, image in enumerate(images):
        r, c = divmod(index, columns)
        canvas[r * height:(r + 1) * height, c * width:(c + 1) * width] = image
    return canvas
