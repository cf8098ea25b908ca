"""Photographs in a .bbv file: each image on the model path or the classical path, whichever is smaller.

The model path codes the grey or RGB channels with a patch model
(bbvae/codecs/patches.py) and stores an alpha channel, when there is one, as a
PNG beside it. The classical path stores the image as PNG or lossless WebP
(bbvae/codecs/classical.py). Palette and bilevel images always take the classical
path. Every image is its own segment, so each pays its own initial bits and
decodes on its own.
"""

from __future__ import annotations

import numpy as np

from bbvae import parallel
from bbvae.codecs import bands, classical, schedule
from bbvae.codecs.build import codec_for
from bbvae.codecs.effort import DEFAULT_EFFORT, EFFORTS, Effort
from bbvae.coder import Message
from bbvae.errors import BbvaeError
from bbvae.format import container, image_info
from bbvae.format.precisions import LANES, PHOTOS, Precisions
from bbvae.io.images import CHANNELS_OF_MODE
from bbvae.models.arithmetic import PORTABLE

CHANNEL_MODES = {channels: mode for mode, channels in CHANNELS_OF_MODE.items()}


class PhotoError(BbvaeError):
    """An image that a photo container cannot hold."""


def mode_of(image) -> str:
    return image.mode if hasattr(image, "mode") else CHANNEL_MODES[1 if image.ndim == 2 else image.shape[2]]


def shape_of(image) -> tuple[int, int, int]:
    if hasattr(image, "mode"):
        return image.size[1], image.size[0], 1
    return image.shape[0], image.shape[1], 1 if image.ndim == 2 else image.shape[2]


def pixels_of(image) -> np.ndarray:
    """The array, or a Pillow image's indices / bits as uint8."""
    return np.asarray(image, dtype=np.uint8) if hasattr(image, "mode") else image


def restored_crc(images, version: int, infos: list[dict] | None = None) -> int:
    """The checksum of what decoding restores: the pixels, from format 4 on also a palette image's palette and
    transparency, and from format 5 on each image's metadata (the checksums of older files cover the pixels only)."""
    parts = []
    for index, image in enumerate(images):
        parts.append(pixels_of(image))
        if version >= container.PHOTO_CODING_VERSION and getattr(image, "mode", None) == "P":
            extra = bytes(image.getpalette() or []) + repr(image.info.get("transparency")).encode()
            parts.append(np.frombuffer(extra, dtype=np.uint8))
        if version >= container.IMAGE_INFO_VERSION and infos:
            parts.append(np.frombuffer(image_info.entries(infos[index]), dtype=np.uint8))
    return container.pixel_crc(parts)


def check_image(index: int, image) -> None:
    """PhotoError unless a photo container can hold the image exactly."""
    if hasattr(image, "mode"):
        if image.mode not in ("P", "1"):
            raise PhotoError(f"image {index}: Pillow images are accepted for modes P and 1 only; pass other modes as arrays")
        if image.mode == "P" and image.palette is not None and image.palette.mode != "RGB":
            raise PhotoError(f"image {index}: a palette with alpha ({image.palette.mode}) is not supported; convert it to RGBA")
    elif image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in CHANNEL_MODES):
        raise PhotoError(f"image {index}: need uint8 pixels shaped (H, W) or (H, W, 2..4), got {image.dtype} {image.shape}")
    height, width, channels = shape_of(image)
    if not 1 <= min(height, width) <= max(height, width) <= container.MAX_SIDE:
        raise PhotoError(f"image {index}: {width}x{height} pixels is outside 1..{container.MAX_SIDE} per side")
    if height * width * max(channels, 3) > container.MAX_PIXELS:
        raise PhotoError(f"image {index}: {width}x{height} pixels is more than bbvae codes in one file")


def model_record(image: np.ndarray, model_path: str, scale_shifts: bool = True, progress=None,
                 threads: int = 1, rival: list[int] | None = None) -> container.PhotoRecord | None:
    """The image on the model path; without scale_shifts, at the rate of the model as trained (bbvae bench).
    threads > 1: in that many bands, coded side by side (bbvae/codecs/bands.py). progress(rows) is called
    as strips of pixel rows are coded. rival: sizes of records made beside it so far (a thread adds to it);
    None, with the rows left reported done, once the model's record can no longer be smaller than one of them."""
    mode = mode_of(image)
    colour = image if mode in ("L", "RGB") else (image[:, :, 0] if mode == "LA" else image[:, :, :3])
    alpha = classical.encode_png(image[:, :, -1]) if mode.endswith("A") else b""
    codec = codec_for(model_path, PHOTOS, PORTABLE, scale_shifts=scale_shifts)
    rows = bands.band_rows(len(colour), codec.patch, threads)
    tops = np.cumsum([0, *rows])
    outgrown = None if rival is None else _Outgrown(rival, len(alpha), codec, rows, colour)
    done = [0]

    def report(count):
        done[0] += count
        if progress:
            progress(count)

    try:
        messages = parallel.in_threads(lambda band, band_report: codec.encode(
            np.ascontiguousarray(colour[tops[band]:tops[band + 1]]), progress=band_report,
            stop=outgrown and outgrown.band(band)).to_bytes(), list(range(len(rows))), threads, report)
    except schedule.Stopped:
        report(len(colour) - done[0])
        return None
    body = messages[0] if len(rows) == 1 else bands.pack(rows, messages)
    return container.PhotoRecord(mode, "model", body, alpha, codec.scale_shifts, banded=len(rows) > 1)


class _Outgrown:
    """Stops the model path once its record can no longer be smaller than a rival record: the bands' messages
    so far, less the most that their strips still to come can take off them (PatchCodec.most_returned_bits),
    already take more bytes. A screenshot or a repeated pattern, which PNG or WebP codes in a fraction of the
    model's bytes, then costs the model a fraction of its time."""

    def __init__(self, rival: list[int], extra: int, codec, rows: list[int], colour: np.ndarray):
        self.rival, self.extra, self.codec = rival, extra, codec  # extra: the record's bytes besides the messages
        self.strips = [codec.strips(count) for count in rows]
        self.width, self.coded = colour.shape[1], 1 if colour.ndim == 2 else 3
        self.least = [0] * len(rows)  # per band: the fewest bits its message can end with (each thread sets its own)

    def band(self, band: int):
        def stop(unit: int, message) -> bool:
            returned = self.codec.most_returned_bits(self.strips[band] - unit - 1, self.width, self.coded)
            self.least[band] = max(0, message.bits - returned)
            return bool(self.rival) and sum(self.least) // 8 + self.extra > min(self.rival)
        return stop


def encode_record(image, model_path: str | None, progress=None, effort: Effort = EFFORTS[DEFAULT_EFFORT],
                  threads: int = 1) -> container.PhotoRecord:
    """The smallest record for one image: the model path (when there is a model; in `threads` bands) against
    PNG and WebP, each searched as hard as the effort says (bbvae/codecs/effort.py).

    The classical encoders run in a thread beside the model (both release the GIL), and the model path stops
    once it has outgrown one of their records (a screenshot, a repeated pattern). progress(rows): the image's
    pixel rows, as the model codes them (all at once without one).
    """
    mode = mode_of(image)
    if model_path is None or mode in ("P", "1"):  # nothing to run beside: no thread to start (a lone digit's)
        if progress:
            progress(shape_of(image)[0])
        return min(_classical_records(image, mode, effort, []), key=_size)
    sizes: list[int] = []
    stored = parallel.beside(_classical_records, image, mode, effort, sizes)
    model = model_record(image, model_path, effort.scale_shifts, progress, threads, rival=sizes)
    return min([record for record in [model] if record is not None] + stored.result(), key=_size)


def _classical_records(image, mode: str, effort: Effort, sizes: list[int]) -> list[container.PhotoRecord]:
    """The PNG and WebP records, each one's size appended to `sizes` as soon as it is made."""
    records = []
    for path, data in classical.each_encoding(image, effort):
        records.append(container.PhotoRecord(mode, path, data))
        sizes.append(_size(records[-1]))
    return records


def _size(record: container.PhotoRecord) -> int:
    return len(record.to_bytes())


MAX_PHOTO_DEBT = 1024  # words an encoder may borrow; it codes the first patch directly and borrows none in practice


def decode_record(record: container.PhotoRecord, shape: tuple[int, int, int], model_path: str | None,
                  coding: tuple[Precisions, int, int] = (PHOTOS, LANES, PORTABLE), progress=None, threads: int = 1):
    """One image of a photo container; coding: the header's precisions, lanes and arithmetic; progress(rows)
    as encode_record calls it; a record in bands decodes them in up to `threads` threads."""
    height, width, channels = shape
    if record.path != "model":
        image = classical.decode(record.path, record.body, record.mode, (width, height))
        if shape_of(image) != shape or mode_of(image) != record.mode:
            raise container.ContainerError("corrupt file: a stored image does not match its header")
        if progress:
            progress(height)
        return image
    if height * width * 3 > container.MAX_PIXELS:  # the patch codec keeps three channels even for grey
        raise container.ContainerError("the file claims more pixels than bbvae decodes")
    precisions, lanes, arithmetic = coding
    codec = codec_for(model_path, precisions, arithmetic, scale_shifts=record.scale_shifts)
    coded = 1 if record.mode in ("L", "LA") else 3
    parts = bands.unpack(record.body, height, codec.patch) if record.banded else [(height, record.body)]

    def decode_band(part, report):
        rows, body = part
        message = Message.from_bytes(body)
        if message.lanes != lanes or message.debt > MAX_PHOTO_DEBT:
            raise container.ContainerError("corrupt file: the message does not match its header")
        if codec.first_pop_bits(rows, width, coded) > message_capacity_bits(message):
            raise container.ContainerError(f"corrupt file: its message is too small for a {width}x{rows} image")
        return codec.decode(message, rows, width, coded, progress=report)
    colour = np.concatenate(parallel.in_threads(decode_band, parts, threads, progress))
    if not record.alpha:
        return colour
    return np.dstack([colour, classical.decode("png", record.alpha, "L", (width, height))])


def message_capacity_bits(message: Message) -> int:
    """At most how many bits of information decoding can take from a message: its words, the words it records as
    borrowed (decoding may not borrow more), and each lane's 64-bit state."""
    return 32 * (len(message.words) + message.debt) + 64 * message.lanes


def needs_model(box: container.Container) -> bool:
    return any(record.path == "model" for record in box.records())
