"""A seeded fuzz of the golden files: every damaged file decodes to its pixels or fails in one line that names
what is wrong with the file (bbvae/bench/fuzz.py; benchmarks/fuzz.py runs more mutations)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bbvae import api
from bbvae.bench import fuzz

DATA = Path(__file__).parent.parent / "data"
GOLDEN = sorted(DATA.rglob("*.bbv"))
SLOW = {"particles.bbv": 2, "archive.bbv": 4}  # mutations per kind of the files that take long to decode (K particles, many images)


def _decode(data: bytes):
    return api.decompress_container(data)


def test_the_fuzz_reaches_past_the_checksum():
    data = (DATA / "portable" / "digit.bbv").read_bytes()
    damaged = fuzz.mutate(data, "payload bit", np.random.default_rng(0))
    assert damaged != data and len(damaged) == len(data)
    with pytest.raises(api.BbvaeError) as refused:
        _decode(damaged)
    assert "checksum mismatch" not in str(refused.value)  # the container's checksum was written again


def test_a_crash_or_a_two_line_message_is_found():
    def crashes(_data):
        raise IndexError("index 7 is out of bounds")

    def rambles(_data):
        raise api.CompressionError("first line\nsecond line")

    assert fuzz.misbehaviour(b"", crashes, True).startswith("crashed: IndexError")
    assert fuzz.misbehaviour(b"", rambles, True).startswith("not a one-line message")
    blames = api.CompressionError("made on a machine whose arithmetic differs")
    assert fuzz.misbehaviour(b"", lambda _d: (_ for _ in ()).throw(blames), True).startswith("blames the machine")
    assert fuzz.misbehaviour(b"", lambda _d: (_ for _ in ()).throw(blames), False) is None


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: str(p.relative_to(DATA)))
def test_damaged_golden_files_fail_in_one_line_naming_the_file(path):
    assert fuzz.fuzz({path.name: path.read_bytes()}, _decode, per_kind=SLOW.get(path.name, 12), seed=2026) == []
