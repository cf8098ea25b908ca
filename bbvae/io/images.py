"""Reading images losslessly and writing them back.

Only what bbvae codes exactly is accepted; anything else gets a one-line reason
(ImageError) instead of a silently different result. Grey, grey+alpha, RGB and
RGBA images become uint8 arrays; palette (P) and bilevel (1) images stay Pillow
images, so that their palette and indices come back exactly (they are stored
with the classical path, bbvae/codecs/classical.py). Multi-frame images (animated GIF, APNG or WebP,
multi-page TIFF) are refused rather than cut to their first frame.

What a file says about its pixels besides them (ICC colour profile, EXIF, DPI, PNG text chunks) is read
with them (read_image_and_metadata, metadata_of), stored with them (bbvae/format/image_info.py) and
written back with the pixels (encode_image's `metadata`).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np

from bbvae.errors import BbvaeError

LOSSY_FORMATS = {"JPEG", "MPO"}
MAX_PIXELS = 100_000_000  # per input image by default: an 8000x8000 photograph fits, a 12000x12000 bomb does not
CHANNELS_OF_MODE = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}
PILLOW_MODES = ("P", "1")   # kept as Pillow images
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


class ImageError(BbvaeError):
    """An image that cannot be read or is not coded losslessly."""


def read_image(source: str | os.PathLike | bytes, label: str | None = None, max_pixels: int = MAX_PIXELS):
    """Pixels as uint8 (H, W) for grey images, (H, W, C) otherwise; a Pillow image for P and 1.

    An image of more than max_pixels is refused from its header, before its pixels are decoded (a small file
    can claim a huge image), with bbvae's one line instead of Pillow's warning."""
    return read_image_and_metadata(source, label, max_pixels)[0]


def read_image_and_metadata(source: str | os.PathLike | bytes, label: str | None = None, max_pixels: int = MAX_PIXELS):
    """(pixels as read_image returns them, the file's metadata as metadata_of returns it)."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    label = label or str(source)
    try:
        raw = source if isinstance(source, bytes) else Path(source).read_bytes()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # bbvae's own limit decides
            image = Image.open(io.BytesIO(raw))
        with image:
            width, height = image.size
            if width * height > max_pixels:
                raise ImageError(f"{label}: {width}x{height} is more than {max_pixels} pixels (raise the limit with --max-pixels)")
            image.load()
            if image.format in LOSSY_FORMATS or (image.format == "WEBP" and _lossy_webp(raw)):
                raise ImageError(f"{label}: {'lossy WebP' if image.format == 'WEBP' else 'JPEG'} is already lossy; bbvae "
                                 "compresses lossless images (PNG, BMP, TIFF, PPM, WebP lossless)")
            return from_pillow(image, label), metadata_of(image)
    except Image.DecompressionBombError:
        raise ImageError(f"{label}: the image has more pixels than Pillow reads (at most {2 * Image.MAX_IMAGE_PIXELS})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise ImageError(f"{label}: no such file") from None
        raise ImageError(f"{label}: not a readable image ({_reason(exc)})") from None


def _reason(exc: Exception) -> str:
    """Pillow's reason in one line, without the object reprs ("<_io.BytesIO object at 0x...>") it names files by."""
    reason = re.sub(r"\s*<[^<>]* at 0x[0-9a-fA-F]+>", "", str(exc).splitlines()[0] if str(exc) else "").strip()
    return reason or type(exc).__name__


def _check_single_frame(image, label: str) -> None:
    """ImageError for an animation or a multi-page file: coding its first frame alone would lose the others."""
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        raise ImageError(f"{label}: {frames} frames; bbvae codes single-frame images only (save each frame as its own file)")


def metadata_of(image) -> dict:
    """The metadata of a Pillow image that bbvae keeps, only what it has: `icc_profile` and `exif` (bytes),
    `dpi` ((x, y) floats) and `text` (a PNG's text chunks, {key: value})."""
    info = getattr(image, "info", None) or {}
    found = {}
    for key in ("icc_profile", "exif"):
        if isinstance(info.get(key), bytes) and info[key]:
            found[key] = bytes(info[key])
    dpi = info.get("dpi")
    if isinstance(dpi, tuple) and len(dpi) == 2:
        try:
            found["dpi"] = (float(dpi[0]), float(dpi[1]))
        except (TypeError, ValueError, ZeroDivisionError):
            pass
    text = getattr(image, "text", None) if getattr(image, "format", None) == "PNG" else None
    if text:
        found["text"] = {str(key): str(value) for key, value in text.items()}
    return found


METADATA_WRITTEN = {"PNG": ("icc_profile", "exif", "dpi", "text"), "TIFF": ("icc_profile", "dpi")}  # what each format holds


def metadata_left_out(name: str, metadata: dict | None) -> list[str]:
    """The kinds of metadata an image file of this name cannot hold (encode_image leaves them out)."""
    kept = METADATA_WRITTEN.get(FORMAT_OF_SUFFIX.get(os.path.splitext(name)[1].lower(), "PNG"), ())
    return sorted(key for key in (metadata or {}) if key not in kept)


def _save_options(image_format: str, metadata: dict | None) -> dict:
    """Pillow's save options that write back the metadata the format holds (METADATA_WRITTEN)."""
    kept = {key: value for key, value in (metadata or {}).items() if key in METADATA_WRITTEN.get(image_format, ())}
    if "text" in kept:
        from PIL.PngImagePlugin import PngInfo

        chunks = PngInfo()
        for key, value in kept.pop("text").items():
            chunks.add_text(key, value)
        kept["pnginfo"] = chunks
    return kept


def _lossy_webp(data: bytes) -> bool:
    """Whether a WebP file holds a lossy (VP8) image or frame rather than only lossless (VP8L) ones."""
    position, found = 12, False
    while position + 8 <= len(data):
        fourcc, size = data[position:position + 4], int.from_bytes(data[position + 4:position + 8], "little")
        found |= fourcc == b"VP8 " or (fourcc == b"ANMF" and data[position + 24:position + 28] == b"VP8 ")
        position += 8 + size + (size & 1)
    return found


def from_pillow(image, label: str):
    """A Pillow image as bbvae codes it: uint8 pixels, or a copy of the image itself for modes P and 1
    (their palette and indices kept); ImageError for what bbvae does not code exactly, a multi-frame image too."""
    _check_single_frame(image, label)
    if image.mode in SIXTEEN_BIT_MODES:
        raise ImageError(f"{label}: {image.mode} images have more than 8 bits per sample; bbvae codes 8-bit images only for now")
    if image.mode == "PA":
        raise ImageError(f"{label}: palette images with an alpha channel (PA) are not supported; save it as RGBA")
    if image.mode in PILLOW_MODES:
        return image.copy()
    if image.mode not in CHANNELS_OF_MODE:
        raise ImageError(f"{label}: image mode {image.mode} is not supported (8-bit L, LA, RGB, RGBA, P or 1)")
    return np.asarray(image).copy()


FORMAT_OF_SUFFIX = {".png": "PNG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF", ".ppm": "PPM",
                    ".pgm": "PPM", ".pnm": "PPM", ".webp": "WEBP"}
IMAGE_SUFFIXES = frozenset(FORMAT_OF_SUFFIX)  # the image files bbvae reads from folders and writes
# channel counts each format stores exactly (checked by writing and reading back every mode with Pillow)
EXACT_CHANNELS = {"PNG": {1, 2, 3, 4}, "TIFF": {1, 2, 3, 4}, "BMP": {1, 3}, "PPM": {1, 3}, "WEBP": {3, 4}}


EXACT_PILLOW_MODES = {"PNG", "TIFF"}  # formats that keep a palette (and its transparency) or 1-bit pixels exactly


def kind_of(image) -> str | int:
    """What a format must hold: the Pillow mode of a Pillow image, else the channel count."""
    return image.mode if hasattr(image, "mode") else (1 if image.ndim == 2 else image.shape[2])


def exact_format(name: str, kind: str | int) -> str | None:
    """The format a file name asks for (PNG when it names none), or None if it cannot hold the image exactly."""
    image_format = FORMAT_OF_SUFFIX.get(os.path.splitext(name)[1].lower(), "PNG")
    exact = image_format in EXACT_PILLOW_MODES if isinstance(kind, str) else kind in EXACT_CHANNELS[image_format]
    return image_format if exact else None


def check_exact(name: str, kind: str | int) -> str:
    """The format for `name`, or ImageError when it cannot hold such an image (kind_of) exactly."""
    suffix = os.path.splitext(name)[1].lower()
    if suffix and suffix not in FORMAT_OF_SUFFIX:
        raise ImageError(f"{name}: bbvae does not write {suffix} files; name it {', '.join(sorted(FORMAT_OF_SUFFIX))}")
    image_format = exact_format(name, kind)
    if image_format is None:
        what = f"{kind} images" if isinstance(kind, str) else f"{kind}-channel pixels"
        raise ImageError(f"{name}: that format cannot hold {what} exactly; use .png")
    return image_format


def encode_image(image, name: str = "", metadata: dict | None = None) -> bytes:
    """An array or Pillow image as an image file in the format the name asks for, with the metadata (as
    metadata_of returns it) that the format holds (METADATA_WRITTEN; metadata_left_out says what it cannot)."""
    from PIL import Image

    image_format = check_exact(name, kind_of(image))
    if image_format == "WEBP":
        return encode_webp(image, method=6)  # a file the user asked for, written once: WebP's smallest
    buffer = io.BytesIO()
    (image if isinstance(image, Image.Image) else Image.fromarray(image)).save(buffer, format=image_format,
                                                                                **_save_options(image_format, metadata))
    return buffer.getvalue()


def as_rgb(pixels: np.ndarray) -> np.ndarray:
    """Grey (H, W) or grey + alpha (H, W, 2) pixels as RGB(A) with three equal colour channels, for WebP, which
    holds colour only; other pixels as they are."""
    if pixels.ndim == 2:
        return np.repeat(pixels[:, :, None], 3, axis=2)
    if pixels.shape[2] == 2:
        return np.dstack([pixels[:, :, :1].repeat(3, axis=2), pixels[:, :, 1:]])
    return pixels


def encode_webp(pixels: np.ndarray, method: int, quality: int = 100) -> bytes:
    """Lossless WebP bytes of uint8 pixels, grey ones as RGB (from_webp undoes that). `exact` keeps the colour
    under transparent pixels; `method` (0..6) and `quality` (0..100, effort for lossless files) trade encoding
    time for size, and each caller says why it picks its own."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(as_rgb(pixels)).save(buffer, format="WEBP", lossless=True, quality=quality, method=method, exact=True)
    return buffer.getvalue()


def from_webp(decoded: np.ndarray, channels: int) -> np.ndarray:
    """The pixels of a `channels`-channel image from the RGB(A) pixels of its WebP file: WebP drops an
    all-opaque alpha, and grey went in as equal colour channels (as_rgb)."""
    if channels in (2, 4) and decoded.shape[2] == 3:
        decoded = np.dstack([decoded, np.full(decoded.shape[:2], 255, np.uint8)])
    if channels in (1, 2):
        decoded = decoded[:, :, 0] if channels == 1 else decoded[:, :, [0, 3]]
    return decoded


def same_image(a, b) -> bool:
    """Exactly the same pixels (and, for Pillow images, the same mode, palette and transparency)."""
    if hasattr(a, "mode") or hasattr(b, "mode"):
        return (hasattr(a, "mode") and hasattr(b, "mode") and a.mode == b.mode and a.size == b.size
                and a.tobytes() == b.tobytes() and a.getpalette() == b.getpalette()
                and a.info.get("transparency") == b.info.get("transparency"))
    return a.shape == b.shape and np.array_equal(a, b)


def grey_or_rgb(image) -> np.ndarray:
    """A photograph as the photo model trains on it: grey stays grey, anything else becomes RGB."""
    if image.mode.startswith(("I", "F")):
        raise ImageError(f"only 8-bit photographs are supported, got a {image.mode} image")
    return np.array(image if image.mode in ("L", "RGB") else image.convert("L" if image.mode in ("1", "LA") else "RGB"))
