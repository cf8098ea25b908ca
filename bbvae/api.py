"""The library API: compress images to .bbv bytes and back.

    data = bbvae.compress(images)          # images: (N, H, W[, C]) uint8 or a list of (H, W[, C])
    images = bbvae.decompress(data)        # a list of uint8 arrays, exactly the input pixels

Grey images come back as (H, W), others as (H, W, C). Without a model named,
28x28 grey digits go to the MNIST codec and everything else to the photo codec
(bbvae/codecs/photos.py), which also takes palette and bilevel Pillow images.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from bbvae.codecs import photos as photo_api
from bbvae.codecs.images import DEFAULT_GROUP, Precisions, VAECodec
from bbvae.coder import Message
from bbvae.format import container
from bbvae.models.arithmetic import LEGACY, PORTABLE
from bbvae.models.arithmetic import NAMES as ARITHMETIC_NAMES
from bbvae.models.modelfile import DEFAULT_MODEL, FIRST_LATENT_BITS, PHOTO_MODEL, WEIGHTS_NAME, load_model, model_folders, resolve, stated_fingerprint

MIN_IMAGES_PER_JOB = 256  # below this a worker process costs more than it saves
PARENT_HEAD_START = 2000  # about what the calling process codes while a spawned worker starts
MAX_DIGITS_COMPARED = 64  # up to this many digits, the file is also made with PNG/WebP records and the smaller kept


class CompressionError(Exception):
    """The images cannot be coded, or decoded pixels fail their checks."""


@functools.lru_cache(maxsize=4)
def _model_info(model_path: str):
    """A model file's facts, read (and fingerprinted) once per process, not once per call."""
    return load_model(model_path)[1]


@functools.lru_cache(maxsize=4)
def _codec(model_path: str, precisions: Precisions, group_size: int, particles: int, arithmetic: int):
    model, info = load_model(model_path)
    return VAECodec(model, precisions, group_size, info.codec.get(FIRST_LATENT_BITS), particles, arithmetic), info


LEGACY_MISMATCH = ("this file predates portable coding and was made on a machine whose arithmetic differs from this one's "
                   "(CPU, thread count or torch release): decompress it where it was made")


def _decoding_failed(box: container.Container, exc: Exception) -> Exception:
    """The one-line error for a segment whose checksummed bytes did not decode."""
    if box.arithmetic == LEGACY:
        return CompressionError(LEGACY_MISMATCH)
    return container.ContainerError(f"the file is corrupt ({str(exc).splitlines()[0]})")


def _as_images(images: list) -> list[np.ndarray]:
    out = []
    for index, image in enumerate(images):
        array = np.asarray(image)
        if array.dtype != np.uint8 or array.ndim not in (2, 3):
            raise CompressionError(f"image {index}: need uint8 pixels shaped (H, W) or (H, W, C), got {array.dtype} {array.shape}")
        out.append(array if array.ndim == 3 else array[:, :, None])
    if not out:
        raise CompressionError("no images to compress")
    return out


def _user_layout(image: np.ndarray) -> np.ndarray:
    """(H, W, C) pixels as the API returns them: grey as (H, W)."""
    return image[:, :, 0] if image.shape[2] == 1 else image


def describe(cfg) -> str:
    kind = {1: "grey", 3: "RGB"}.get(cfg.channels, f"{cfg.channels}-channel")
    return f"{cfg.width}x{cfg.height} {kind} images"


def _segments(count: int, jobs: int) -> list[slice]:
    """Contiguous segments, one per process; the first, coded by the calling process while the
    workers start, is larger by a head start. Any split decodes: the container records it."""
    parts = max(1, min(jobs, count // MIN_IMAGES_PER_JOB))
    head = min(PARENT_HEAD_START, count // parts) if parts > 1 else 0
    bounds = head + np.linspace(0, count - head, parts + 1).astype(int)
    bounds[0] = 0
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def _encode_segment(model_path, precisions, group_size, particles, arithmetic, batch, progress=None) -> bytes:
    codec, _ = _codec(model_path, precisions, group_size, particles, arithmetic)
    return codec.encode(batch, progress=progress).to_bytes()


def _decode_segment(model_path, precisions, group_size, particles, arithmetic, lanes, payload, count,
                    progress=None) -> np.ndarray:
    codec, _ = _codec(model_path, precisions, group_size, particles, arithmetic)
    message = Message.from_bytes(payload)
    if message.lanes != lanes:
        raise ValueError("the payload's lanes differ from the header's")
    return codec.decode(message, count, progress=progress)


def _workers_can_start() -> bool:
    """Spawned workers re-import the main module; code read from stdin has no file to import."""
    main_file = getattr(sys.modules["__main__"], "__file__", None)
    return main_file is None or os.path.exists(main_file)


def _run(function, calls, sizes, jobs, progress):
    """function(*call) for each call, in order. With jobs > 1 the first call runs here (progress per
    group) while spawned workers run the others (progress per finished call of `sizes` images)."""
    if jobs <= 1 or len(calls) <= 1 or not _workers_can_start():
        return [function(*call, progress) for call in calls]
    workers = min(jobs - 1, len(calls) - 1)
    threads = _share_of_cores(workers + 1)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_torch_threads,
                                 initargs=(threads,)) as pool, _threads_here(threads):
            futures = [pool.submit(function, *call) for call in calls[1:]]
            results = [function(*calls[0], progress)]
            for future, size in zip(futures, sizes[1:]):
                results.append(future.result())
                if progress:
                    progress(size)
            return results
    except BrokenExecutor:
        raise CompressionError("a worker process died (out of memory?): try fewer --jobs") from None


def _share_of_cores(processes: int) -> int:
    """Torch threads per coding process: the portable arithmetic's sums do not depend on them, so the
    processes share the cores instead of each starting one thread per core."""
    return max(1, (os.cpu_count() or 1) // processes)


def _torch_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


@contextlib.contextmanager
def _threads_here(threads: int):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def choose_model(images) -> str:
    """The shipped codec for these images: MNIST's for 28x28 grey digits, the photo codec otherwise."""
    digits = all(not hasattr(image, "mode") and np.asarray(image).shape in ((28, 28), (28, 28, 1)) for image in images)
    return DEFAULT_MODEL if digits and len(images) else PHOTO_MODEL


def compress(images, model: str | os.PathLike | None = None, *, names: list[str] | None = None,
             metadata: dict | None = None, precisions: Precisions | None = None, group_size: int = DEFAULT_GROUP,
             particles: int = 1, jobs: int = 1, verify: bool = True, progress=None) -> bytes:
    """Code images into .bbv bytes. With verify (the default) the bytes are decoded again and compared.

    model: a shipped name or path; None picks one (choose_model). precisions default to
    Precisions.default(number of images). jobs > 1 codes segments in spawned worker
    processes, so a script calling it needs the usual `if __name__ == "__main__":`.
    """
    images = [image if hasattr(image, "mode") else np.asarray(image) for image in images]
    if names is not None and len(names) != len(images):
        raise CompressionError("one name per image")
    path = str(resolve(model if model is not None else choose_model(images)))
    info = _model_info(path)
    if info.patch_model:
        if particles > 1:
            raise CompressionError("importance-weighted coding (--particles) is for whole-image models, not photographs")
        return _compress_photos(images, path, info, names, metadata, jobs, verify, progress)
    data = _compress_digits(images, path, names, metadata, precisions, group_size, particles, jobs, verify, progress)
    if model is None and len(images) <= MAX_DIGITS_COMPARED:  # an odd digit may be smaller as PNG or WebP
        data = min(data, _compress_photos(images, None, None, names, metadata, jobs, verify, None), key=len)
    return data


def _compress_digits(images, path, names, metadata, precisions, group_size, particles, jobs, verify, progress) -> bytes:
    """Same-shaped images of a plain (MNIST-like) model in one message."""
    if any(hasattr(image, "mode") for image in images):
        raise CompressionError(f"palette and bilevel images need the photo codec, not '{Path(path).parent.name}'")
    arrays = _as_images(images)
    precisions = precisions or Precisions.default(len(arrays))
    try:
        codec, info = _codec(path, precisions, group_size, particles, PORTABLE)
    except ValueError as exc:
        raise CompressionError(str(exc)) from None
    channels, height, width = codec.image_shape
    for index, array in enumerate(arrays):
        if array.shape != (height, width, channels):
            h, w, c = array.shape
            raise CompressionError(f"image {index} is {w}x{h} with {c} channel(s); model '{info.path.parent.name}' "
                                   f"codes {describe(info.config)}")
    batch = np.ascontiguousarray(np.stack(arrays).transpose(0, 3, 1, 2))
    parts = _segments(len(batch), jobs if _workers_can_start() else 1)
    payloads = _run(_encode_segment, [(path, precisions, group_size, particles, PORTABLE, batch[part]) for part in parts],
                    [p.stop - p.start for p in parts], jobs, progress)
    box = container.Container(
        fingerprint=bytes.fromhex(info.fingerprint)[:container.FINGERPRINT_BYTES], model_name=info.path.parent.name,
        precisions=(precisions.latent, precisions.posterior, precisions.pixels), lanes=1, group_size=group_size,
        shapes=[a.shape for a in arrays], names=names, metadata=metadata or {},
        segments=[container.Segment(p.stop - p.start, payload) for p, payload in zip(parts, payloads)],
        pixel_crc=container.pixel_crc(arrays), particles=particles, arithmetic=PORTABLE)
    data = container.pack(box)
    if verify:
        _, decoded = decompress_container(data, path, jobs=jobs)
        if any(not np.array_equal(_user_layout(a), b) for a, b in zip(arrays, decoded)):
            raise CompressionError("verification failed: the decoded pixels differ from the input (nothing written)")
    return data


def _encode_photo(model_path: str, image, progress=None) -> bytes:
    return photo_api.encode_record(image, model_path).to_bytes()


def _decode_photo(model_path: str | None, payload: bytes, shape, coding, progress=None):
    """coding: the header's (precisions, lanes, arithmetic)."""
    return photo_api.decode_record(container.PhotoRecord.from_bytes(payload, shape[2]), shape, model_path, coding)


def _compress_photos(images, path, info, names, metadata, jobs, verify, progress) -> bytes:
    """Every image as its own photo record; path/info None: classical records only (no model needed)."""
    images = [image[:, :, 0] if getattr(image, "ndim", 0) == 3 and image.shape[2] == 1 else image for image in images]
    try:
        for index, image in enumerate(images):
            photo_api.check_image(index, image)
    except photo_api.PhotoError as exc:
        raise CompressionError(str(exc)) from None
    if not images:
        raise CompressionError("no images to compress")
    payloads = _run(_encode_photo, [(path, image) for image in images], [1] * len(images), jobs, progress)
    precisions = photo_api.PHOTO_PRECISIONS
    box = container.Container(
        fingerprint=bytes.fromhex(info.fingerprint)[:container.FINGERPRINT_BYTES] if info else bytes(container.FINGERPRINT_BYTES),
        model_name=info.path.parent.name if info else "",
        precisions=(precisions.latent, precisions.posterior, precisions.pixels), lanes=1,
        group_size=photo_api.PHOTO_GROUP, shapes=[photo_api.shape_of(image) for image in images], names=names,
        metadata=metadata or {}, segments=[container.Segment(1, payload) for payload in payloads],
        pixel_crc=container.pixel_crc([photo_api.pixels_of(image) for image in images]), photos=True)
    data = container.pack(box)
    if verify and not photo_api.same_images(images, decompress_container(data, path, jobs=jobs)[1]):
        raise CompressionError("verification failed: the decoded pixels differ from the input (nothing written)")
    return data


def _decompress_photos(box: container.Container, model, jobs: int, progress):
    path = find_model(box, model) if photo_api.needs_model(box) else None
    coding = (Precisions(*box.precisions), box.lanes, box.arithmetic)
    calls = [(path, segment.payload, shape, coding) for segment, shape in zip(box.segments, box.shapes)]
    try:
        images = _run(_decode_photo, calls, [1] * len(calls), jobs, progress)
    except (OSError, SyntaxError) as exc:  # Pillow reports some damaged files as SyntaxError
        raise container.ContainerError(f"the file is corrupt ({str(exc).splitlines()[0]})") from None
    except (ValueError, IndexError) as exc:
        raise _decoding_failed(box, exc) from None
    if container.pixel_crc([photo_api.pixels_of(image) for image in images]) != box.pixel_crc:
        raise _pixel_checksum_failed(box)
    return box, images


def _pixel_checksum_failed(box: container.Container) -> Exception:
    if box.arithmetic == LEGACY:
        return CompressionError(LEGACY_MISMATCH)
    return container.ContainerError("the file is corrupt (decoded pixels fail their checksum)")


def find_model(box: container.Container, model: str | os.PathLike | None) -> str:
    """The weights file that made this container, or a one-line reason why it is not at hand."""
    wanted = box.fingerprint.hex()
    if model is not None:
        path = resolve(model)
        info = _model_info(str(path))
        if not info.fingerprint.startswith(wanted):
            raise CompressionError(f"this file was made with model '{box.model_name}' (fingerprint {wanted}), "
                                   f"not with {path} ({info.fingerprint[:16]}): pass --model for '{box.model_name}'")
        return str(path)
    for folder in model_folders():
        stated = stated_fingerprint(folder)
        if stated and stated.startswith(wanted):
            return str(folder / WEIGHTS_NAME)
    raise CompressionError(f"this file needs model '{box.model_name}' (fingerprint {wanted}), which is not installed: "
                           "pass its path with --model")


def decompress_container(data: bytes, model: str | os.PathLike | None = None, *, jobs: int = 1, progress=None):
    """(container, images): parse, decode every segment, and check the pixel checksum."""
    box = container.unpack(data)
    precisions = Precisions(*box.precisions)
    try:
        precisions.check()
    except ValueError as exc:
        raise container.ContainerError(f"corrupt file: {exc}") from None
    if box.photos:
        return _decompress_photos(box, model, jobs, progress)
    path = find_model(box, model)
    try:
        codec, _ = _codec(path, precisions, box.group_size, box.particles, box.arithmetic)
    except ValueError as exc:
        raise container.ContainerError(f"corrupt file: {exc}") from None
    expected = codec.image_shape
    if any((c, h, w) != expected for h, w, c in box.shapes):
        raise container.ContainerError("corrupt file: image geometry does not match its model")
    calls = [(path, precisions, box.group_size, box.particles, box.arithmetic, box.lanes, segment.payload, segment.count)
             for segment in box.segments]
    try:
        decoded = np.concatenate(_run(_decode_segment, calls, [s.count for s in box.segments], jobs, progress)).transpose(0, 2, 3, 1)
    except (ValueError, IndexError) as exc:
        raise _decoding_failed(box, exc) from None
    images = [_user_layout(image) for image in decoded]
    if container.pixel_crc([image.reshape(shape) for image, shape in zip(images, box.shapes)]) != box.pixel_crc:
        raise _pixel_checksum_failed(box)
    return box, images


def decompress(data: bytes, model: str | os.PathLike | None = None, *, jobs: int = 1) -> list[np.ndarray]:
    """The images of .bbv bytes, exactly as they were compressed."""
    return decompress_container(data, model, jobs=jobs)[1]


def describe_container(data: bytes) -> dict:
    """What `bbvae info` shows: model, images, geometry, sizes and bits/dim, without decoding."""
    box = container.unpack(data)
    shapes = sorted(set(box.shapes))
    return {
        "model": box.model_name, "fingerprint": box.fingerprint.hex(), "format_version": data[3],
        "images": len(box.shapes), "geometry": [{"height": h, "width": w, "channels": c} for h, w, c in shapes],
        "names": box.names, "bytes": len(data), "arithmetic": ARITHMETIC_NAMES[box.arithmetic],
        "portable": box.arithmetic != LEGACY, "payload_bytes": sum(len(s.payload) for s in box.segments),
        "bits_per_dim": 8 * len(data) / box.samples, "samples": box.samples,
        "precisions": dict(zip(("latent", "posterior", "pixels"), box.precisions)),
        "lanes": box.lanes, "group_size": box.group_size, "particles": box.particles, "segments": len(box.segments), "metadata": box.metadata,
        "paths": [{"mode": r.mode, "path": r.path, "bytes": len(s.payload), "scale_shifts": r.scale_shifts}
                  for r, s in zip(box.records(), box.segments)]
        if box.photos else None,
    }

