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
# Images of more pixels than this get no PNG record beside their WebP one: on the validation photographs and
# their crops of 64x64 pixels and more, lossless WebP was smaller every time, and PNG at level 9 took half of
# WebP's time on the whole photographs (python benchmarks/png_beside_webp.py, benchmarks/results/png_beside_webp.md).
PNG_BESIDE_WEBP_PIXELS = 64 * 64


def _pillow(image):
    from PIL import Image

    return image if isinstance(image, Image.Image) else Image.fromarray(image)


def encode_png(image) -> bytes:
    buffer = io.BytesIO()
    _pillow(image).save(buffer, format="PNG", compress_level=9)
    return buffer.getvalue()


def webp_holds(image) -> bool:
    """Whether lossless WebP can store the image: an array (not a palette or bilevel Pillow image) of at most
    WEBP_MAX_SIDE pixels a side."""
    return not hasattr(image, "mode") and max(image.shape[:2]) <= WEBP_MAX_SIDE


def _pixels(image) -> int:
    width, height = image.size if hasattr(image, "mode") else image.shape[1::-1]
    return width * height


def encode_webp(image, effort: Effort = EFFORTS[DEFAULT_EFFORT]) -> bytes | None:
    """Lossless WebP bytes at the effort's settings (bbvae/codecs/effort.py says why), or None when WebP cannot
    hold the image."""
    if not webp_holds(image):
        return None
    return images.encode_webp(image, effort.webp_method, effort.webp_quality)


def each_encoding(image, effort: Effort = EFFORTS[DEFAULT_EFFORT]):
    """(path name, file bytes) for the classical paths worth trying on the image, each as soon as it is made:
    PNG where WebP cannot hold the image or it is small enough for PNG to win at times (made first: it is
    the quicker), and WebP where it can."""
    small = _pixels(image) <= PNG_BESIDE_WEBP_PIXELS
    if small or not webp_holds(image):
        yield "png", encode_png(image)
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
