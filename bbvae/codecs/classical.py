"""The classical path: an image stored as a PNG or lossless WebP file, through Pillow.

A photo container never stores more than the smallest of these plus its header
(bbvae/codecs/photos.py): when the model would spend more, the image goes this way.
WebP holds RGB(A) only, so grey images go in as equal channels and come back
as their first channel; palette and bilevel images go as PNG only, which keeps
their palette, transparency and indices.
"""

from __future__ import annotations

import io

import numpy as np

from bbvae.codecs.effort import DEFAULT_EFFORT, EFFORTS, Effort
from bbvae.errors import BbvaeError
from bbvae.io import images

WEBP_MAX_SIDE = 16383
# zlib's levels for the PNG record. Images of more pixels than STRONG_PNG_MAX_PIXELS that WebP can hold get
# the quick one: on the validation photographs and their crops of 64x64 pixels and more, lossless WebP was
# smaller than PNG at the strong level every time, and that level took half of WebP's time on the whole
# photographs (python benchmarks/png_beside_webp.py, benchmarks/results/png_beside_webp.md). Their quick PNG
# record is made for its size: ready long before WebP's, it stops the model path early on an image that
# the model cannot win (a screenshot, bbvae/codecs/photos.py).
STRONG_PNG_LEVEL = 9
QUICK_PNG_LEVEL = 1
STRONG_PNG_MAX_PIXELS = 64 * 64


def _pillow(image):
    from PIL import Image

    return image if isinstance(image, Image.Image) else Image.fromarray(image)


def encode_png(image, level: int = STRONG_PNG_LEVEL) -> bytes:
    buffer = io.BytesIO()
    _pillow(image).save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


def webp_holds(image) -> bool:
    """Whether lossless WebP can store the image: an array (not a palette or bilevel Pillow image) of at most
    WEBP_MAX_SIDE pixels a side."""
    return not hasattr(image, "mode") and max(image.shape[:2]) <= WEBP_MAX_SIDE


def encode_webp(image, effort: Effort = EFFORTS[DEFAULT_EFFORT]) -> bytes | None:
    """Lossless WebP bytes at the effort's settings (bbvae/codecs/effort.py says why), or None when WebP cannot
    hold the image."""
    if not webp_holds(image):
        return None
    return images.encode_webp(image, effort.webp_method, effort.webp_quality)


def each_encoding(image, effort: Effort = EFFORTS[DEFAULT_EFFORT]):
    """(path name, file bytes) for every classical path that can hold the image, each as soon as it is made:
    PNG first (the quicker), at the strong level where it may be the smallest record (small images, and
    those WebP cannot hold) and at the quick one elsewhere, then WebP."""
    strong = not webp_holds(image) or image.shape[0] * image.shape[1] <= STRONG_PNG_MAX_PIXELS  # an array here
    yield "png", encode_png(image, STRONG_PNG_LEVEL if strong else QUICK_PNG_LEVEL)
    webp = encode_webp(image, effort)
    if webp is not None:
        yield "webp", webp


def encodings(image, effort: Effort = EFFORTS[DEFAULT_EFFORT]) -> dict[str, bytes]:
    """path name -> file bytes, for every classical path that can hold the image."""
    return dict(each_encoding(image, effort))


class StoredImageError(BbvaeError, ValueError):
    """A stored classical image that does not match its container's header."""


def decode(path: str, data: bytes, mode: str, size: tuple[int, int]):
    """The image stored on a classical path, as the API returns it (array, or Pillow image for P and 1).

    size (width, height) is the container's, already checked against its limits; the stored
    file must claim exactly that before any pixel is decoded.
    """
    from PIL import Image

    try:
        stored = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise StoredImageError("a stored image claims more pixels than its header") from None
    with stored:
        expected = ("RGB", "RGBA") if path == "webp" else (mode,)
        if stored.size != size or stored.mode not in expected:
            raise StoredImageError("a stored image does not match its header's size or mode")
        stored.load()
        if mode in ("P", "1"):
            return stored.copy()
        pixels = np.asarray(stored)
    if path == "webp":
        pixels = images.from_webp(pixels, images.CHANNELS_OF_MODE[mode])
    return np.ascontiguousarray(pixels)
