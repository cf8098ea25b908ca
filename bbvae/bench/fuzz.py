"""Damaged .bbv files: the fuzz test of the suite (tests/format/test_fuzz.py) and its longer run (benchmarks/fuzz.py).

Each mutation damages one part of a file and then writes the container's checksum again,
so that the damage reaches the parser and the decoder instead of stopping at the checksum.
A damaged file must decode to its stored pixels (their checksum holds) or fail with one line
that names what is wrong with the file: no traceback, no object address, and no blame on
the machine for a file whose arithmetic is the same on every machine.
"""

from __future__ import annotations

import re
import zlib
from typing import Callable

import numpy as np

from bbvae.errors import BbvaeError
from bbvae.format.container import PORTABLE_VERSION

KINDS = ("header bit", "payload bit", "any byte", "truncated", "inserted byte", "removed byte")
HEADER_BYTES = 48      # about where the header of a small file ends: its payload follows
BLAMES_THE_MACHINE = ("machine", "torch", "CPU")


def _with_checksum(body: bytes, pixel_crc: bytes) -> bytes:
    return body + zlib.crc32(body).to_bytes(4, "little") + pixel_crc


def mutate(data: bytes, kind: str, rng: np.random.Generator) -> bytes:
    """`data` damaged by one mutation of `kind` (one of KINDS), its container checksum written again."""
    body, pixel_crc = bytearray(data[:-8]), data[-4:]
    header = min(HEADER_BYTES, len(body) - 1)
    if kind == "header bit":
        body[int(rng.integers(4, header))] ^= 1 << int(rng.integers(8))
    elif kind == "payload bit":
        body[int(rng.integers(header, len(body)))] ^= 1 << int(rng.integers(8))
    elif kind == "any byte":
        body[int(rng.integers(4, len(body)))] = int(rng.integers(256))
    elif kind == "truncated":
        del body[int(rng.integers(5, len(body))):]
    elif kind == "inserted byte":
        body.insert(int(rng.integers(4, len(body) + 1)), int(rng.integers(256)))
    elif kind == "removed byte":
        del body[int(rng.integers(4, len(body)))]
    else:
        raise ValueError(f"unknown mutation {kind!r}")
    return _with_checksum(bytes(body), pixel_crc)


def misbehaviour(damaged: bytes, decode: Callable[[bytes], object], portable: bool) -> str | None:
    """None when decoding `damaged` succeeds or fails as it should; otherwise what went wrong."""
    try:
        decode(damaged)
    except BbvaeError as exc:
        message = str(exc)
        if not message or "\n" in message:
            return f"not a one-line message: {message!r}"
        if re.search(r"0x[0-9a-fA-F]{4,}", message):
            return f"an object address in the message: {message}"
        if portable and any(word in message for word in BLAMES_THE_MACHINE):
            return f"blames the machine for a damaged portable file: {message}"
    except Exception as exc:  # noqa: BLE001 - anything else is a crash, which is what a fuzz looks for
        return f"crashed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def fuzz(files: dict[str, bytes], decode: Callable[[bytes], object], per_kind: int, seed: int) -> list[str]:
    """Every misbehaviour of `per_kind` mutations of each kind of each file (name -> bytes), seeded."""
    found = []
    for number, (name, data) in enumerate(sorted(files.items())):
        portable = data[3] >= PORTABLE_VERSION
        rng = np.random.default_rng([seed, number])
        for kind in KINDS:
            for _ in range(per_kind):
                problem = misbehaviour(mutate(data, kind, rng), decode, portable)
                if problem:
                    found.append(f"{name}, {kind}: {problem}")
    return found
