"""The images' own metadata in a .bbv file: ICC profile, EXIF, DPI and PNG text, per image.

Stored in binary (docs/FORMAT.md, "Image metadata"), deflated when that is smaller, so that a
file's metadata never takes more room in the container than its raw bytes (PNG stores the ICC
profile deflated too, EXIF and text raw). `entries` is also what the restored checksum covers:
the raw bytes, never the deflated ones, whose exact form depends on the zlib release.

An image's metadata is a dict with only what it has: `icc_profile` and `exif` (bytes), `dpi`
((x, y) floats) and `text` ({key: value} strings), as bbvae/io/images.py metadata_of reads it.
"""

from __future__ import annotations

import struct
import zlib

from bbvae.coder import varint

KEYS = ("icc_profile", "exif", "dpi", "text")  # their tag bytes are their positions
BINARY = ("icc_profile", "exif")
RAW, DEFLATED = 0, 1
MAX_BLOCK = 1 << 26  # bytes of metadata, inflated: a damaged file cannot make bbvae allocate more


def entries(info: dict) -> bytes:
    """One image's metadata in its stored (uninflated) form."""
    unknown = set(info) - set(KEYS)
    if unknown:
        raise ValueError(f"unknown image metadata {sorted(unknown)[0]!r}")
    out = bytearray(varint.encode(len(info)))
    for tag, key in enumerate(KEYS):
        if key not in info:
            continue
        out.append(tag)
        value = info[key]
        if key in BINARY:
            out += _sized(bytes(value))
        elif key == "dpi":
            out += struct.pack("<2d", float(value[0]), float(value[1]))
        else:
            out += varint.encode(len(value))
            for name, text in value.items():
                out += _sized(str(name).encode()) + _sized(str(text).encode())
    return bytes(out)


def pack(infos: list[dict]) -> bytes:
    """Every image's metadata as the container stores it: a method byte, then the entries (deflated if smaller)."""
    raw = b"".join(entries(info) for info in infos)
    deflated = zlib.compress(raw, 9)
    return bytes([DEFLATED]) + deflated if len(deflated) < len(raw) else bytes([RAW]) + raw


def unpack(block: bytes, count: int) -> list[dict]:
    """pack undone for `count` images; ValueError with a short reason for anything pack does not write."""
    if not block or block[0] not in (RAW, DEFLATED):
        raise ValueError("bad image metadata")
    body = block[1:]
    if block[0] == DEFLATED:
        inflater = zlib.decompressobj()
        try:
            body = inflater.decompress(body, MAX_BLOCK)
        except zlib.error:
            raise ValueError("bad image metadata") from None
        if inflater.unconsumed_tail or not inflater.eof:
            raise ValueError("bad image metadata")
    reader = _Reader(body)
    infos = [reader.image() for _ in range(count)]
    if reader.pos != len(body) or not any(infos):
        raise ValueError("bad image metadata")
    return infos


def _sized(data: bytes) -> bytes:
    return varint.encode(len(data)) + data


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def varint(self) -> int:
        value, self.pos = varint.decode(self.data, self.pos)
        return value

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise ValueError("bad image metadata")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def text(self) -> str:
        try:
            return self.take(self.varint()).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("bad image metadata") from None

    def image(self) -> dict:
        info, last = {}, -1
        for _ in range(self.varint()):
            tag = self.take(1)[0]
            if tag <= last or tag >= len(KEYS):  # each key once, in order: one stored form per metadata
                raise ValueError("bad image metadata")
            last, key = tag, KEYS[tag]
            if key in BINARY:
                info[key] = self.take(self.varint())
            elif key == "dpi":
                info[key] = struct.unpack("<2d", self.take(16))
            else:
                pairs = [(self.text(), self.text()) for _ in range(self.varint())]
                info[key] = dict(pairs)
                if len(info[key]) != len(pairs):
                    raise ValueError("bad image metadata")
        return info
