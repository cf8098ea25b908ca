"""The library API: compress images to .bbv bytes and back.

    data = bbvae.compress(image)           # one image: an (H, W[, C]) uint8 array, a Pillow image, a path or a file
    data = bbvae.compress(images)          # many: a list of those, or an (N, H, W[, C]) uint8 array
    images = bbvae.decompress(data)        # a list of the images, exactly the input pixels; images.names
    images.info                            # per image: its ICC profile, EXIF, DPI and PNG text, as read

Files and Pillow images keep their metadata (ICC colour profile, EXIF, DPI, PNG text chunks: see
bbvae/io/images.py metadata_of), stored with the images (bbvae/format/image_info.py, docs/FORMAT.md);
compress(..., strip=True) leaves it out.

Grey images come back as (H, W), others as (H, W, C), palette and bilevel images as
Pillow images. Without a model named,
28x28 grey digits go to the MNIST codec and everything else to the photo codec
(bbvae/codecs/photos.py), which also takes palette and bilevel Pillow images.

One pipeline for both: the images become the segments of one container (a set
of same-sized images per segment for a whole-image model, one photo record per
image for a patch model), segments are coded side by side in threads
(bbvae/parallel.py), and decoding reverses it and checks the pixel checksum.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from bbvae import parallel
from bbvae.codecs import bands
from bbvae.codecs import photos as photo_records
from bbvae.codecs.build import codec_for
from bbvae.codecs.effort import DEFAULT_EFFORT, Effort
from bbvae.codecs.effort import effort as effort_settings
from bbvae.coder import Message
from bbvae.errors import BbvaeError
from bbvae.format import container, image_info
from bbvae.format.precisions import GROUP_SIZE, LANES, PHOTOS, Precisions
from bbvae.io.images import from_pillow, metadata_of, read_image_and_metadata, same_image
from bbvae.models import recall
from bbvae.models.arithmetic import LEGACY, PORTABLE
from bbvae.models.arithmetic import NAMES as ARITHMETIC_NAMES
from bbvae.models.modelfile import DEFAULT_MODEL, PHOTO_MODEL, WEIGHTS_NAME, cached_model, is_shipped, resolve, shipped_model

MAX_DIGITS_COMPARED = 64  # up to this many digits, PNG/WebP records are also tried and the smaller file kept


class CompressionError(BbvaeError):
    """The images cannot be coded, or decoded pixels fail their checks."""


LEGACY_MISMATCH = ("this file predates portable coding and its checksum holds, so it was most likely made on a machine whose "
                   "arithmetic differs from this one's (CPU, thread count or torch release): decompress it where it was made "
                   "(otherwise it was altered after its checksum was written)")


def _decoding_failed(box: container.Container, reason: str) -> Exception:
    """The one-line error for checksummed bytes that did not decode, or decoded to other pixels."""
    if box.arithmetic == LEGACY:
        return CompressionError(LEGACY_MISMATCH)
    return container.ContainerError(f"the file is corrupt ({reason})")


def _user_layout(image: np.ndarray) -> np.ndarray:
    """(H, W, C) pixels as the API returns them: grey as (H, W)."""
    return image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image


class Images(list):
    """The images of a .bbv file, in order, with the names stored with them (`names`, None if none) and each
    image's metadata (`info`: one dict per image, as bbvae.io.images.metadata_of returns it, {} if none)."""

    def __init__(self, images, names: list[str] | None = None, info: list[dict] | None = None):
        super().__init__(images)
        self.names = names
        self.info = info if info is not None else [{} for _ in self]


def as_images(images) -> list:
    """The images a caller passes, each as bbvae codes it (uint8 array, or a Pillow image of mode P or 1).
    as_images_and_info also gives each image's metadata.

    One image: an (H, W) array, an (H, W, C) array with C <= 4, a Pillow image of any mode bbvae codes
    exactly, a path, a binary file object or the bytes of an image file. Many: a list or tuple of those, or an (N, H, W[, C]) array
    (an (N, H, W) stack needs W > 4 to be told from one (H, W, C) image; pass a list otherwise).
    """
    return as_images_and_info(images)[0]


def as_images_and_info(images) -> tuple[list, list[dict]]:
    """(as_images's images, each one's metadata: what a file or Pillow image has, {} for an array)."""
    if isinstance(images, (list, tuple)):
        items = list(images)
    elif isinstance(images, np.ndarray) and (images.ndim == 4 or (images.ndim == 3 and images.shape[-1] > 4)):
        items = list(images)
    else:
        items = [images]
    pairs = [_one_image(item, index) for index, item in enumerate(items)]
    return [image for image, _ in pairs], [info for _, info in pairs]


def _one_image(item, index: int):
    if hasattr(item, "read"):  # before `mode`: a file object has one too ("rb")
        return read_image_and_metadata(item.read(), f"image {index}")
    if isinstance(item, (bytes, bytearray, memoryview)):
        return read_image_and_metadata(bytes(item), f"image {index}")
    if isinstance(item, (str, os.PathLike)):
        return read_image_and_metadata(item)
    if hasattr(item, "mode"):
        return from_pillow(item, f"image {index}"), metadata_of(item)
    return _user_layout(np.asarray(item)), {}


def _describe_model(cfg) -> str:
    kind = {1: "grey", 3: "RGB"}.get(cfg.channels, f"{cfg.channels}-channel")
    return f"{cfg.width}x{cfg.height} {kind} images"


def choose_model(images) -> str:
    """The shipped codec for these images: MNIST's for 28x28 grey digits, the photo codec otherwise."""
    digits = all(not hasattr(image, "mode") and np.asarray(image).shape in ((28, 28), (28, 28, 1)) for image in images)
    return DEFAULT_MODEL if digits and len(images) else PHOTO_MODEL


def progress_total(images, model: str | os.PathLike | None = None) -> int:
    """What compress's progress callback counts up to: pixel rows for a patch (photo) model, so that one large
    photograph shows progress too, images for a whole-image model."""
    images = as_images(images)
    path = str(resolve(model if model is not None else choose_model(images)))
    patches = cached_model(path)[1].config.patches
    return sum(photo_records.shape_of(image)[0] for image in images) if patches else len(images)


def container_progress_total(box: container.Container) -> int:
    """What decompress_container's progress callback counts up to (progress_total's units)."""
    return sum(shape[0] for shape in box.shapes) if box.photos else len(box.shapes)


def compress(images, model: str | os.PathLike | None = None, *, names: list[str] | None = None,
             metadata: dict | None = None, info: list[dict] | None = None, strip: bool = False,
             precisions: Precisions | None = None, group_size: int = GROUP_SIZE,
             particles: int = 1, effort: int = DEFAULT_EFFORT, jobs: int = 1, verify: bool = True, progress=None) -> bytes:
    """Code one image or many (as_images says which is which) into .bbv bytes. With verify (the default) the
    bytes are decoded again and compared.

    model: a shipped name or path; None picks one (choose_model). precisions default to
    Precisions.for_images(number of images) for whole-image models and PHOTOS for patch
    models. jobs > 1 codes segments (or a lone photograph's bands) in that many threads. progress(n) is
    called as work is done, in progress_total's units, from one thread at a time.

    effort (1 or 2, bbvae/codecs/effort.py) trades encoding time for size; decoding takes the same time whatever it was.
    Each image's metadata (ICC profile, EXIF, DPI, PNG text) is stored with it: what its file or Pillow image
    has, or `info` (one dict per image, as bbvae.io.images.metadata_of returns them) for images read
    elsewhere; strip=True stores none.
    """
    try:
        search = effort_settings(effort)
    except ValueError as exc:
        raise CompressionError(str(exc)) from None
    images, found = as_images_and_info(images)
    if not images:
        raise CompressionError("no images to compress")
    if names is not None and len(names) != len(images):
        raise CompressionError("one name per image")
    if info is not None and len(info) != len(images):
        raise CompressionError("one info dict per image")
    header = dict(names=names, metadata=metadata or {},
                  image_info=None if strip else _checked_info(info if info is not None else found))
    path = str(resolve(model if model is not None else choose_model(images)))
    _, model_info = cached_model(path)
    with recall.remembering() if verify else contextlib.nullcontext():  # the check decode reuses network and head results
        if model_info.config.patches:
            if particles > 1:
                raise CompressionError("importance-weighted coding (--particles) is for whole-image models, not photographs")
            box = _photo_container(images, path, model_info, header, jobs, progress, search)
        else:
            compared = model is None and len(images) <= MAX_DIGITS_COMPARED  # an odd digit may be smaller as PNG or WebP
            # the PNG and WebP records are made beside the model's (both release the GIL)
            classical = parallel.beside(_photo_container, images, None, None, header, 1, None, search) if compared else None
            box = _image_set_container(images, path, model_info, header, precisions, group_size, particles, jobs, progress)
            if classical is not None:
                box = min(box, classical.result(), key=lambda b: len(container.pack(b)))
        data = container.pack(box)
        failure = _check_failure(images, data, path, jobs) if verify else None
    if failure:  # the check decode took kept results: only one on its own may report a failure (recall.py)
        failure = _check_failure(images, data, path, jobs)
    if failure:
        raise CompressionError(f"verification failed: {failure}")
    return data


def _check_failure(images, data: bytes, path: str, jobs: int) -> str | None:
    """Why data does not decode to images, pixel for pixel; None if it does."""
    try:
        decoded = decompress_container(data, path, jobs=jobs)[1]
    except container.ContainerError as exc:
        return f"the new file does not decode ({exc}; nothing written)"
    if not all(same_image(a, b) for a, b in zip(images, decoded)):
        return "the decoded pixels differ from the input (nothing written)"
    return None


def _checked_info(infos: list[dict]) -> list[dict] | None:
    """The images' metadata as the container stores it (None when no image has any); CompressionError if unstorable."""
    if not any(infos):
        return None
    try:
        for info in infos:
            image_info.entries(info)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise CompressionError(f"image metadata: {exc}") from None
    return [dict(info) for info in infos]


def _assemble(info, images, header: dict, segments: list[container.Segment], **coding) -> container.Container:
    """The one container assembly: the model (None: classical records only), the images' geometry and checksum."""
    box = container.Container(
        fingerprint=bytes.fromhex(info.fingerprint)[:container.FINGERPRINT_BYTES] if info else bytes(container.FINGERPRINT_BYTES),
        model_name=info.path.parent.name if info and not is_shipped(info.path) else "", shapes=[photo_records.shape_of(image) for image in images],
        segments=segments, pixel_crc=0, arithmetic=PORTABLE, lanes=LANES, **header, **coding)
    box.pixel_crc = photo_records.restored_crc(images, container.version_of(box), box.image_info)
    return box


def _image_set_container(images, path, info, header, precisions, group_size, particles, jobs, progress) -> container.Container:
    """Same-shaped images of a whole-image model, in segments of the message coded in parallel."""
    if any(hasattr(image, "mode") for image in images):
        raise CompressionError(f"palette and bilevel images need the photo codec, not '{Path(path).parent.name}'")
    for index, image in enumerate(images):
        if image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise CompressionError(f"image {index}: need uint8 pixels shaped (H, W) or (H, W, C), got {image.dtype} {image.shape}")
    precisions = precisions or Precisions.for_images(len(images))
    try:
        codec = codec_for(path, precisions, PORTABLE, group_size, particles)
    except ValueError as exc:
        raise CompressionError(str(exc)) from None
    channels, height, width = codec.image_shape
    for index, image in enumerate(images):
        if photo_records.shape_of(image) != (height, width, channels):
            h, w, c = photo_records.shape_of(image)
            raise CompressionError(f"image {index} is {w}x{h} with {c} channel(s); model '{info.path.parent.name}' "
                                   f"codes {_describe_model(info.config)}")
    batch = np.ascontiguousarray(np.stack(images).reshape(len(images), height, width, channels).transpose(0, 3, 1, 2))
    parts = parallel.segments(len(batch), jobs)
    coding = (path, precisions, PORTABLE, group_size, particles)
    payloads = _run(_encode_segment, [(coding, batch[part]) for part in parts], jobs, progress)
    return _assemble(info, images, header, [container.Segment(p.stop - p.start, payload) for p, payload in zip(parts, payloads)],
                     precisions=precisions, group_size=group_size, particles=particles)


def _photo_container(images, path, info, header, jobs, progress, search: Effort) -> container.Container:
    """Every image as its own photo record; path/info None: classical records only (no model needed)."""
    try:
        for index, image in enumerate(images):
            photo_records.check_image(index, image)
    except photo_records.PhotoError as exc:
        raise CompressionError(str(exc)) from None
    threads = jobs if len(images) == 1 else 1  # a lone photograph is coded in `jobs` bands side by side
    payloads = _run(_encode_photo, [(path, image, search, threads) for image in images], jobs, progress)
    return _assemble(info, images, header, [container.Segment(1, payload) for payload in payloads],
                     precisions=PHOTOS, group_size=None, photos=True)


def _run(function, calls, jobs, progress):
    """[function(*call, progress) for call in calls], in up to `jobs` threads."""
    return parallel.in_threads(lambda call, report: function(*call, report), calls, jobs, progress)


def _encode_segment(coding: tuple, batch: np.ndarray, progress=None) -> bytes:
    return codec_for(*coding).encode(batch, progress=progress).to_bytes()


def _encode_photo(model_path: str | None, image, search: Effort, threads: int, progress=None) -> bytes:
    return photo_records.encode_record(image, model_path, progress, search, threads).to_bytes()


def _decode_segment(box_coding: tuple, payload: bytes, count_or_shape, progress=None) -> list:
    """One segment's images: a photo record, or `count` images of a whole-image model's message."""
    path, precisions, arithmetic, group_size, particles, lanes, photos, threads = box_coding
    if photos:
        shape = count_or_shape
        record = container.PhotoRecord.from_bytes(payload, shape[2])
        return [photo_records.decode_record(record, shape, path, (precisions, lanes, arithmetic), progress, threads)]
    message = Message.from_bytes(payload)
    if message.lanes != lanes:
        raise ValueError("the payload's lanes differ from the header's")
    decoded = codec_for(path, precisions, arithmetic, group_size, particles).decode(message, count_or_shape, progress=progress)
    return [_user_layout(image) for image in decoded.transpose(0, 2, 3, 1)]


def find_model(box: container.Container, model: str | os.PathLike | None) -> str:
    """The weights file that made this container, or a one-line reason why it is not at hand."""
    wanted = box.fingerprint.hex()
    if model is not None:
        path = resolve(model)
        info = cached_model(str(path))[1]
        if not info.fingerprint.startswith(wanted):
            raise CompressionError(f"this file was made with {_model_described(box)}, not with {path} "
                                   f"({info.fingerprint[:16]}): pass --model for it")
        return str(path)
    folder = shipped_model(wanted)
    if folder is None:
        raise CompressionError(f"this file needs {_model_described(box)}, which is not installed: pass its path with --model")
    return str(folder / WEIGHTS_NAME)


def _model_described(box: container.Container) -> str:
    """How error messages name a file's model: its fingerprint, and the name the file states (files made with
    a model that is not shipped state its folder's name; shipped models are found by fingerprint alone)."""
    named = f"model '{box.model_name}'" if box.model_name else "a model"
    return f"{named} (fingerprint {box.fingerprint.hex()})"


def _checked_model(box: container.Container, model) -> str | None:
    """The model that decodes the container (None for classical records only), checked against its geometry."""
    if box.photos and not photo_records.needs_model(box):
        return None
    path = find_model(box, model)
    try:
        codec = codec_for(path, box.precisions, box.arithmetic, box.group_size, box.particles)
    except ValueError as exc:
        raise container.ContainerError(f"corrupt file: {exc}") from None
    if box.photos != cached_model(path)[1].config.patches:
        raise container.ContainerError("corrupt file: its model codes another kind of image")
    if not box.photos and any((c, h, w) != codec.image_shape for h, w, c in box.shapes):
        raise container.ContainerError("corrupt file: image geometry does not match its model")
    return path


def decompress_container(data: bytes | bytearray | memoryview, model: str | os.PathLike | None = None, *,
                         jobs: int = 1, progress=None):
    """(container, images): parse, decode every segment, and check the pixel checksum."""
    box = container.unpack(bytes(data))
    try:
        box.precisions.check()
    except ValueError as exc:
        raise container.ContainerError(f"corrupt file: {exc}") from None
    path = _checked_model(box, model)
    threads = jobs if len(box.segments) == 1 else 1  # a lone photograph's bands take the jobs as threads
    coding = (path, box.precisions, box.arithmetic, box.group_size, box.particles, box.lanes, box.photos, threads)
    calls = [(coding, segment.payload, shape if box.photos else segment.count)
             for segment, shape in zip(box.segments, box.shapes if box.photos else box.segments)]
    try:
        images = [image for part in _run(_decode_segment, calls, jobs, progress) for image in part]
    except (OSError, SyntaxError) as exc:  # Pillow reports some damaged files as SyntaxError
        raise container.ContainerError(f"the file is corrupt ({str(exc).splitlines()[0]})") from None
    except (ValueError, IndexError) as exc:
        raise _decoding_failed(box, str(exc).splitlines()[0]) from None
    if photo_records.restored_crc(images, data[3], box.image_info) != box.pixel_crc:
        raise _decoding_failed(box, "decoded pixels fail their checksum")
    return box, images


def decompress(data: bytes | bytearray | memoryview, model: str | os.PathLike | None = None, *, jobs: int = 1) -> Images:
    """The images of .bbv bytes, exactly as they were compressed, with their stored names (`.names`) and
    metadata (`.info`)."""
    box, images = decompress_container(data, model, jobs=jobs)
    return Images(images, box.names, box.image_info)


def _model_name(box: container.Container) -> str:
    """The name of a file's model: the one it states, else the shipped model with its fingerprint ("" if none)."""
    if box.model_name or box.fingerprint == bytes(container.FINGERPRINT_BYTES):
        return box.model_name
    folder = shipped_model(box.fingerprint.hex())
    return folder.name if folder else ""


def describe_container(data: bytes | bytearray | memoryview) -> dict:
    """What `bbvae info` shows: model, images, geometry, sizes and bits/dim, without decoding."""
    data = bytes(data)
    box = container.unpack(data)
    shapes = sorted(set(box.shapes))
    return {
        "model": _model_name(box), "fingerprint": box.fingerprint.hex(), "format_version": data[3],
        "images": len(box.shapes), "geometry": [{"height": h, "width": w, "channels": c} for h, w, c in shapes],
        "names": box.names, "bytes": len(data), "arithmetic": ARITHMETIC_NAMES[box.arithmetic],
        "portable": box.arithmetic != LEGACY, "payload_bytes": sum(len(s.payload) for s in box.segments),
        "bits_per_dim": 8 * len(data) / box.samples, "samples": box.samples,
        "precisions": {"latent": box.precisions.latent, "posterior": box.precisions.posterior, "pixels": box.precisions.pixels},
        "lanes": box.lanes, "group_size": box.group_size, "particles": box.particles, "segments": len(box.segments), "metadata": box.metadata,
        "image_metadata": [sorted(info) for info in box.image_info] if box.image_info else None,
        "image_metadata_bytes": len(image_info.pack(box.image_info)) if box.image_info else 0,
        "paths": [{"mode": r.mode, "path": r.path, "bytes": len(s.payload), "scale_shifts": r.scale_shifts,
                   "bands": bands.count(r.body) if r.banded else 1}
                  for r, s in zip(box.records(), box.segments)]
        if box.photos else None,
    }


describe = describe_container  # bbvae.describe(data): what a file holds, without decoding it
