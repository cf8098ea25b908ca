"""One photograph in horizontal bands that threads code side by side (`--jobs` on a lone photograph).

A photograph's strips depend on each other: each strip pops its latents from the bits the strip
below it pushed, and its pixels read the two rows above them. No two strips of one message can
be coded at the same time. A banded model record cuts the photograph at strip boundaries into
bands and codes each as an image of its own (bbvae/codecs/patches.py): its own message, its
first strip coded directly, and no sight of the band above (its top rows see the border value,
as an image's top rows do). The bands then encode and decode in any order, so each runs in a
thread of its own (bbvae/parallel.py).

The price is each band's initial bits and its blind top rows, a cost per band that grows with the
width: with bands of 8 strips (256 rows of the photo model), 0.13% of astronaut's size and 0.18% of
camera's, 0.30% of coffee's with 7 and 6 strips (`python benchmarks/photo_bands.py`, run with
MIN_BAND_STRIPS 4; benchmarks/results/photo_bands.md has the current rule's figures). Shorter bands are
not made, so that the cost stays near 0.2% or below; larger photographs pay less. A record of one band is
the plain model record.

Body of a banded record: varint number of bands (2 or more), then per band a varint row count and
a varint message length, then the messages in band order, top band first.
"""

from __future__ import annotations

from bbvae.coder import varint
from bbvae.format.container import ContainerError

MIN_BAND_STRIPS = 8  # a shorter band's initial bits and blind top rows cost more than 0.2% of its size


def band_rows(height: int, patch: int, bands: int) -> list[int]:
    """Rows of each band, top first: whole strips of `patch` rows, as even as they go (upper bands the
    larger), at most `bands` of them and each at least MIN_BAND_STRIPS strips unless there is one."""
    strips = -(-height // patch)
    count = max(1, min(bands, strips // MIN_BAND_STRIPS))
    per = [strips // count + (1 if band < strips % count else 0) for band in range(count)]
    rows = [n * patch for n in per]
    rows[-1] -= strips * patch - height  # the last strip may be short
    return rows


def pack(rows: list[int], messages: list[bytes]) -> bytes:
    out = bytearray(varint.encode(len(rows)))
    for count, message in zip(rows, messages):
        out += varint.encode(count) + varint.encode(len(message))
    for message in messages:
        out += message
    return bytes(out)


def count(body: bytes) -> int:
    """How many bands a banded record's body says it holds (unchecked: `unpack` checks)."""
    try:
        return varint.decode(body, 0)[0]
    except ValueError:
        raise ContainerError("corrupt file: a banded record's table is damaged") from None


def unpack(body: bytes, height: int, patch: int) -> list[tuple[int, bytes]]:
    """(rows, message) per band; ContainerError unless the bands are whole strips that tile the height."""
    try:
        number, position = varint.decode(body, 0)  # as count() reads it, with the position after it
        table = []
        for _ in range(number if 2 <= number <= height else 0):
            rows, position = varint.decode(body, position)
            size, position = varint.decode(body, position)
            table.append((rows, size))
    except (ValueError, IndexError):
        raise ContainerError("corrupt file: a banded record's table is damaged") from None
    if not table or sum(rows for rows, _ in table) != height or any(rows <= 0 or rows % patch for rows, _ in table[:-1]) \
            or table[-1][0] <= 0 or sum(size for _, size in table) != len(body) - position:
        raise ContainerError("corrupt file: a banded record's bands do not tile its image")
    bands = []
    for rows, size in table:
        bands.append((rows, body[position:position + size]))
        position += size
    return bands
