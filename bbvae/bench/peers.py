"""Classical lossless peers (PNG, WebP, JPEG XL, xz, zstd) on the same images, for benchmarks.

WebP is written as bbvae's classical path writes it (bbvae/io/images.py, through Pillow) but at its
strongest setting. imagecodecs and zstandard are benchmark-only dependencies (`pip install -e .[bench]`).
"""

from __future__ import annotations

import lzma
import math

import numpy as np

from bbvae.io.images import encode_webp, from_webp

WEBP_METHOD = 6  # peers at their strongest (the file path's WebP, effort 2, is 0.4% larger: benchmarks/webp_settings.py)


def codecs(threads: int = 1) -> dict:
    """name -> (encode(image) -> bytes, decode(bytes, shape) -> image), all lossless."""
    import imagecodecs
    import zstandard

    def pixels(encode, decode):
        return encode, lambda data, shape: np.asarray(decode(data)).reshape(shape)

    def webp_decode(data, shape):
        return from_webp(imagecodecs.webp_decode(data), 1 if len(shape) == 2 else shape[2]).reshape(shape)

    def raw(encode, decode):
        return pixels(lambda image: encode(np.ascontiguousarray(image).tobytes()),
                      lambda data: np.frombuffer(decode(data), dtype=np.uint8))

    return {
        "PNG": pixels(lambda im: imagecodecs.png_encode(im, level=9), imagecodecs.png_decode),
        "WebP lossless": (lambda im: encode_webp(im, WEBP_METHOD), webp_decode),
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
