"""The .bbv container: a small header, the ANS payload in segments, and checksums.

Layout (docs/FORMAT.md is the reference; integers are LEB128 varints unless
sized): magic "BBV", format version, the model (fingerprint prefix and name),
the coding precisions and lanes, the images (geometry once when all agree,
optional names, optional JSON metadata), the segments (image count and message
bytes each), CRC-32 of everything before it, CRC-32 of the decoded pixels.
"""

from __future__ import annotations

import dataclasses
import json
import zlib

import numpy as np

from bbvae.coder import varint
from bbvae.errors import BbvaeError
from bbvae.format import image_info
from bbvae.format.precisions import GROUP_SIZE, LANES, MAX_GROUP, PHOTOS, Precisions

MAGIC = b"BBV"
FORMAT_VERSION = 6          # the newest this reads; a file carries the lowest version that can read it
FIRST_VERSION = 1
SCALE_SHIFTS_VERSION = 2    # photo records with per-patch scale shifts (bbvae/codecs/scale_shifts.py)
PORTABLE_VERSION = 3        # an arithmetic byte after the flags (bbvae/models/arithmetic.py); earlier files are LEGACY
PHOTO_CODING_VERSION = 4    # photo containers: coding defaults of their own and no group size (format/precisions.py)
IMAGE_INFO_VERSION = 5      # the images' own metadata (flag bit 7, bbvae/format/image_info.py)
BANDS_VERSION = 6           # model records in bands coded side by side (PATH_BANDS, bbvae/codecs/bands.py)
LEGACY_ARITHMETIC, PORTABLE_ARITHMETIC = 0, 1  # what the arithmetic byte says (bbvae/models/arithmetic.py)
KNOWN_ARITHMETICS = (PORTABLE_ARITHMETIC,)
FINGERPRINT_BYTES = 4   # a prefix of the model's SHA-256: enough to tell models apart and refuse a wrong one
MAX_SIDE = 1 << 16          # pixels per side: headers claiming more are refused before allocating
MAX_IMAGES = 1 << 24
MAX_PIXELS = 1 << 30        # total samples in one container (1 GiB of pixels)
MAX_LANES = 255
MAX_PARTICLES = 64          # importance samples per image (flag bit 6)
FLAG_NAMES, FLAG_SAME_SHAPE, FLAG_METADATA, FLAG_CUSTOM_CODING, FLAG_SEGMENTS, FLAG_PHOTOS = 1, 2, 4, 8, 16, 32
FLAG_PARTICLES = 64  # importance-weighted bits-back with K particles (bbvae/coder/importance.py)
FLAG_IMAGE_INFO = 128  # ICC profiles, EXIF, DPI, PNG text (bbvae/format/image_info.py)
KNOWN_FLAGS = 255
# FLAG_PHOTOS: one segment per image, each a photo record (PhotoRecord.to_bytes)
MODES = ("L", "LA", "RGB", "RGBA", "P", "1")
PATHS = ("model", "png", "webp")    # how a photo's pixels are stored: bits-back, or a classical file
PATH_SCALE_SHIFTS = 0x80            # set in a model record's path byte when its message carries scale shifts
PATH_BANDS = 0x40                   # set when the model record's body holds bands (bbvae/codecs/bands.py)


def default_coding(count: int, photos: bool, version: int = FORMAT_VERSION) -> tuple[Precisions, int, int | None]:
    """Precisions, lanes and group size that a header of this kind and version leaves out.

    Photo containers from PHOTO_CODING_VERSION on have the photographs' precisions and no
    group size (photo records group their patches by strips); older files used the
    defaults of sets of images for every container.
    """
    if photos and version >= PHOTO_CODING_VERSION:
        return PHOTOS, LANES, None
    return Precisions.for_images(count), LANES, GROUP_SIZE


class ContainerError(BbvaeError):
    """A .bbv file that cannot be read: the message says what is wrong."""


@dataclasses.dataclass
class Segment:
    count: int        # images in this segment
    payload: bytes    # the serialised ANS message


@dataclasses.dataclass
class PhotoRecord:
    """One image of a photo container: its mode, the path taken, and the stored bytes.

    Bytes: mode index, path index (plus PATH_SCALE_SHIFTS for a model path with
    scale shifts, PATH_BANDS for one in bands), then for the model path a varint length and a PNG of the alpha
    channel (length 0 without alpha) followed by the ANS message or the bands (bbvae/codecs/bands.py); for a
    classical path the image file itself.
    """

    mode: str
    path: str
    body: bytes
    alpha: bytes = b""
    scale_shifts: bool = False
    banded: bool = False

    def __post_init__(self):
        if (self.scale_shifts or self.banded) and self.path != "model":
            raise ValueError("only the model path has scale shifts and bands")

    @staticmethod
    def scale_shifted(data: bytes) -> bool:
        """Whether a record's bytes say it has scale shifts (without checking the rest)."""
        return len(data) > 1 and bool(data[1] & PATH_SCALE_SHIFTS)

    @staticmethod
    def in_bands(data: bytes) -> bool:
        """Whether a record's bytes say it is in bands (without checking the rest)."""
        return len(data) > 1 and bool(data[1] & PATH_BANDS)

    def to_bytes(self) -> bytes:
        flags = (PATH_SCALE_SHIFTS if self.scale_shifts else 0) | (PATH_BANDS if self.banded else 0)
        head = bytes([MODES.index(self.mode), PATHS.index(self.path) | flags])
        if self.path == "model":
            head += varint.encode(len(self.alpha)) + self.alpha
        return head + self.body

    @classmethod
    def from_bytes(cls, data: bytes, channels: int) -> "PhotoRecord":
        reader = _Reader(data)
        mode_index, path_byte = reader.take(1)[0], reader.take(1)[0]
        path_index = path_byte & ~(PATH_SCALE_SHIFTS | PATH_BANDS)
        scale_shifts, banded = bool(path_byte & PATH_SCALE_SHIFTS), bool(path_byte & PATH_BANDS)
        if mode_index >= len(MODES) or path_index >= len(PATHS):
            raise ContainerError("corrupt file: unknown image mode or path")
        mode, path = MODES[mode_index], PATHS[path_index]
        if path != "model" and (scale_shifts or banded):
            raise ContainerError(f"corrupt file: {'scale shifts' if scale_shifts else 'bands'} on a classical path")
        if len(mode) != channels:  # P and 1 are one channel, like L
            raise ContainerError("corrupt file: image mode does not match its channels")
        if path == "model" and mode in ("P", "1"):
            raise ContainerError("corrupt file: palette and bilevel images have no model path")
        alpha = reader.take(reader.varint(len(data))) if path == "model" else b""
        if path == "model" and bool(alpha) != mode.endswith("A"):
            raise ContainerError("corrupt file: alpha channel missing or unexpected")
        return cls(mode, path, reader.take(len(data) - reader.pos), alpha, scale_shifts, banded)


@dataclasses.dataclass
class Container:
    fingerprint: bytes                  # first FINGERPRINT_BYTES of the model fingerprint
    model_name: str
    precisions: Precisions
    lanes: int
    group_size: int | None              # images per bits-back group; None in photo containers
    shapes: list[tuple[int, int, int]]  # (height, width, channels) per image
    names: list[str] | None
    metadata: dict
    segments: list[Segment]
    pixel_crc: int
    photos: bool = False                # segments are PhotoRecords, one per image
    particles: int = 1                  # importance samples per image of the bits-back groups
    arithmetic: int = PORTABLE_ARITHMETIC  # how the coded numbers were computed (bbvae/models/arithmetic.py)
    image_info: list[dict] | None = None   # each image's own metadata (image_info.py); None: no image has any

    def records(self) -> list[PhotoRecord]:
        return [PhotoRecord.from_bytes(segment.payload, shape[2]) for segment, shape in zip(self.segments, self.shapes)]

    @property
    def samples(self) -> int:
        return sum(h * w * c for h, w, c in self.shapes)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise ContainerError("truncated file")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def varint(self, limit: int) -> int:
        try:
            value, self.pos = varint.decode(self.data, self.pos)
        except ValueError as exc:
            raise ContainerError(f"corrupt file: {exc}") from None
        if value > limit:
            raise ContainerError(f"corrupt or unsupported file: value {value} exceeds {limit}")
        return value

    def text(self) -> str:
        try:
            return self.take(self.varint(1 << 20)).decode("utf-8")
        except UnicodeDecodeError:
            raise ContainerError("corrupt file: bad text") from None


def _metadata(text: str, count: int) -> dict:
    """Parsed metadata; its one known entry, `archive`, must describe exactly the file's images."""
    try:
        metadata = json.loads(text)
    except (ValueError, RecursionError):
        raise ContainerError("corrupt file: bad metadata") from None
    if not isinstance(metadata, dict):
        raise ContainerError("corrupt file: bad metadata")
    archive = metadata.get("archive")
    if archive is not None:
        try:
            valid = (archive["kind"] in ("npy", "npz") and isinstance(archive["name"], str)
                     and all(isinstance(key, str) and all(isinstance(n, int) and n >= 0 for n in shape) and len(shape) in (3, 4)
                             for key, shape in archive["arrays"])
                     and sum(shape[0] for _, shape in archive["arrays"]) == count
                     and (archive["kind"] == "npz" or len(archive["arrays"]) == 1))
        except (KeyError, TypeError, ValueError):
            valid = False
        if not valid:
            raise ContainerError("corrupt file: bad archive metadata")
    return metadata


def _image_info(block: bytes, count: int) -> list[dict]:
    try:
        return image_info.unpack(block, count)
    except ValueError as exc:
        raise ContainerError(f"corrupt file: {exc}") from None


def pixel_crc(images) -> int:
    crc = 0
    for image in images:
        crc = zlib.crc32(np.ascontiguousarray(image, dtype=np.uint8).tobytes(), crc)
    return crc


def version_of(box: Container) -> int:
    """The lowest format version that can read the container (legacy ones: as bbvae wrote them before)."""
    if box.arithmetic == LEGACY_ARITHMETIC:
        shifted = box.photos and any(PhotoRecord.scale_shifted(segment.payload) for segment in box.segments)
        return SCALE_SHIFTS_VERSION if shifted else FIRST_VERSION
    if box.photos and any(PhotoRecord.in_bands(segment.payload) for segment in box.segments):
        return BANDS_VERSION
    if box.image_info:
        return IMAGE_INFO_VERSION
    return PHOTO_CODING_VERSION if box.photos else PORTABLE_VERSION


def pack(box: Container) -> bytes:
    version = version_of(box)
    if (box.group_size is None) != (box.photos and version >= PHOTO_CODING_VERSION):
        raise ValueError("a group size is stored by every container but the photo containers of format 4 on")
    same = len(set(box.shapes)) == 1
    custom = (box.precisions, box.lanes, box.group_size) != default_coding(len(box.shapes), box.photos, version)
    several = len(box.segments) != 1
    flags = ((FLAG_NAMES if box.names is not None else 0) | (FLAG_SAME_SHAPE if same else 0)
             | (FLAG_METADATA if box.metadata else 0) | (FLAG_CUSTOM_CODING if custom else 0)
             | (FLAG_SEGMENTS if several else 0) | (FLAG_PHOTOS if box.photos else 0)
             | (FLAG_PARTICLES if box.particles > 1 else 0) | (FLAG_IMAGE_INFO if box.image_info else 0))
    name = box.model_name.encode()
    out = bytearray(MAGIC + bytes([version, flags]))
    if version >= PORTABLE_VERSION:
        out.append(box.arithmetic)
    out += box.fingerprint[:FINGERPRINT_BYTES]
    out += varint.encode(len(name)) + name
    if custom:
        out += box.precisions.to_bytes() + bytes([box.lanes])
        if box.group_size is not None:
            out += varint.encode(box.group_size)
    if box.particles > 1:
        out += varint.encode(box.particles)
    out += varint.encode(len(box.shapes))
    for shape in box.shapes[:1] if same else box.shapes:
        out += b"".join(varint.encode(v) for v in shape)
    if box.names is not None:
        for item in box.names:
            encoded = item.encode()
            out += varint.encode(len(encoded)) + encoded
    if box.metadata:
        encoded = json.dumps(box.metadata, separators=(",", ":")).encode()
        out += varint.encode(len(encoded)) + encoded
    if box.image_info:
        block = image_info.pack(box.image_info)
        out += varint.encode(len(block)) + block
    if several:
        out += varint.encode(len(box.segments))
        for segment in box.segments:
            out += varint.encode(segment.count) + varint.encode(len(segment.payload)) + segment.payload
    else:
        out += box.segments[0].payload  # the one segment holds every image and runs to the checksums
    out += zlib.crc32(bytes(out)).to_bytes(4, "little") + box.pixel_crc.to_bytes(4, "little")
    return bytes(out)


def unpack(data: bytes) -> Container:
    """Parse and check a container; every failure is a ContainerError with a one-line reason."""
    if len(data) < 4 or data[:3] != MAGIC:
        raise ContainerError("not a bbvae file")
    if data[3] > FORMAT_VERSION:
        raise ContainerError(f"file format version {data[3]} is newer than this bbvae reads ({FORMAT_VERSION}): upgrade bbvae")
    if data[3] < FIRST_VERSION:
        raise ContainerError("corrupt file: format version 0")
    if len(data) < 13:
        raise ContainerError("truncated file")
    if zlib.crc32(data[:-8]) != int.from_bytes(data[-8:-4], "little"):
        raise ContainerError("the file is corrupt or truncated (checksum mismatch)")
    reader = _Reader(data[:-8])
    reader.take(4)
    flags = reader.take(1)[0]
    if flags & ~(KNOWN_FLAGS if data[3] >= IMAGE_INFO_VERSION else KNOWN_FLAGS & ~FLAG_IMAGE_INFO):
        raise ContainerError("corrupt or unsupported file: unknown flags")
    arithmetic = reader.take(1)[0] if data[3] >= PORTABLE_VERSION else LEGACY_ARITHMETIC
    if data[3] >= PORTABLE_VERSION and arithmetic not in KNOWN_ARITHMETICS:
        raise ContainerError(f"unknown arithmetic {arithmetic}: the file is corrupt or needs a newer bbvae")
    fingerprint = reader.take(FINGERPRINT_BYTES)
    model_name = reader.text()
    photos = bool(flags & FLAG_PHOTOS)
    if flags & FLAG_CUSTOM_CODING:
        precisions, lanes = Precisions(*reader.take(3)), reader.take(1)[0]
        group_size = None if photos and data[3] >= PHOTO_CODING_VERSION else reader.varint(MAX_GROUP)
        if not 1 <= lanes <= MAX_LANES or (group_size is not None and group_size < 1):
            raise ContainerError("corrupt file: bad coding parameters")
    particles = reader.varint(MAX_PARTICLES) if flags & FLAG_PARTICLES else 1
    if particles < 1 or (particles > 1 and flags & FLAG_PHOTOS):
        raise ContainerError("corrupt file: bad particle count")
    count = reader.varint(MAX_IMAGES)
    if count == 0:
        raise ContainerError("corrupt file: no images")
    if not flags & FLAG_CUSTOM_CODING:
        precisions, lanes, group_size = default_coding(count, photos, data[3])
    stored = [(reader.varint(MAX_SIDE), reader.varint(MAX_SIDE), reader.varint(4))
              for _ in range(1 if flags & FLAG_SAME_SHAPE else count)]
    if any(0 in shape for shape in stored):
        raise ContainerError("corrupt file: an image with no pixels")
    repeat = count if flags & FLAG_SAME_SHAPE else 1
    if repeat * sum(h * w * c for h, w, c in stored) > MAX_PIXELS:  # checked before the list is expanded
        raise ContainerError("the file claims more pixels than bbvae decodes")
    shapes = stored * repeat
    names = [reader.text() for _ in range(count)] if flags & FLAG_NAMES else None
    metadata = _metadata(reader.text(), count) if flags & FLAG_METADATA else {}
    infos = _image_info(reader.take(reader.varint(len(data))), count) if flags & FLAG_IMAGE_INFO else None
    segments = []
    if flags & FLAG_SEGMENTS:
        for _ in range(reader.varint(count)):  # at most one segment per image, none of them empty
            seg_count = reader.varint(MAX_IMAGES)
            if seg_count == 0:
                raise ContainerError("corrupt file: an empty segment")
            segments.append(Segment(seg_count, reader.take(reader.varint(len(data)))))
    else:
        segments.append(Segment(count, reader.take(len(reader.data) - reader.pos)))
    if reader.pos != len(reader.data) or sum(s.count for s in segments) != count:
        raise ContainerError("corrupt file: segments do not match the images")
    if photos and len(segments) != count:
        raise ContainerError("corrupt file: a photo container needs one segment per image")
    box = Container(fingerprint, model_name, precisions, lanes, group_size, shapes, names, metadata,
                    segments, int.from_bytes(data[-4:], "little"), photos, particles, arithmetic, infos)
    if photos:
        records = box.records()  # also checks them
        if any(record.scale_shifts for record in records) and data[3] < SCALE_SHIFTS_VERSION:
            raise ContainerError(f"corrupt file: scale shifts in a file of format version {data[3]}")
        if any(record.banded for record in records) and data[3] < BANDS_VERSION:
            raise ContainerError(f"corrupt file: bands in a file of format version {data[3]}")
    return box
