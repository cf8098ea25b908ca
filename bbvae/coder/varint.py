"""LEB128 varints: 7 bits per byte, low bits first, high bit set on every byte but the last."""

from __future__ import annotations

MAX_BYTES = 10  # enough for any 64-bit value


def encode(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def decode(data: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it); ValueError when the bytes end or run too long."""
    value = 0
    for count in range(MAX_BYTES):
        if pos >= len(data):
            raise ValueError("truncated number")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << (7 * count)
        if not byte & 0x80:
            return value, pos
    raise ValueError("overlong number")
