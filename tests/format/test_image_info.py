"""The images' own metadata in the container (bbvae/format/image_info.py): exact round trips, never more
room than the raw bytes, and a one-line refusal of a damaged block."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bbvae.format import container, image_info

INFO = st.fixed_dictionaries({}, optional={
    "icc_profile": st.binary(min_size=1, max_size=600), "exif": st.binary(min_size=1, max_size=200),
    "dpi": st.tuples(st.floats(0.01, 1e5), st.floats(0.01, 1e5)),
    "text": st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=80), max_size=4)})


@settings(max_examples=200, deadline=None)
@given(st.lists(INFO, min_size=1, max_size=5).filter(any))
def test_metadata_comes_back_exactly_in_no_more_room_than_its_raw_bytes(infos):
    block = image_info.pack(infos)
    assert image_info.unpack(block, len(infos)) == infos
    assert len(block) <= 1 + sum(len(image_info.entries(info)) for info in infos)


def test_repetitive_metadata_is_stored_deflated():
    infos = [{"icc_profile": bytes(4000)}]
    block = image_info.pack(infos)
    assert block[0] == image_info.DEFLATED and len(block) < 100
    assert image_info.unpack(block, 1) == infos


@pytest.mark.parametrize("block, reason", [
    (b"", "empty"), (b"\x02", "unknown method"), (b"\x01garbage", "not deflate"),
    (b"\x00\x01\x09", "unknown tag"), (b"\x00\x01\x00\x05ab", "truncated entry"),
    (b"\x00\x02\x03\x00\x03\x00", "a key twice"), (b"\x00\x00", "no image has any: stored without the flag"),
    (bytes([image_info.DEFLATED]) + zlib.compress(bytes(image_info.MAX_BLOCK + 1)), "inflates past the bound"),
])
def test_a_damaged_block_is_refused(block, reason):
    with pytest.raises(ValueError, match="bad image metadata"):
        image_info.unpack(block, 1)


def test_metadata_in_a_file_of_an_older_version_is_an_unknown_flag():
    golden = (Path(__file__).parent.parent / "data" / "portable" / "described.bbv").read_bytes()
    assert golden[3] == container.IMAGE_INFO_VERSION and container.unpack(golden).image_info
    older = bytearray(golden)
    older[3] = container.PHOTO_CODING_VERSION
    older[-8:-4] = zlib.crc32(bytes(older[:-8])).to_bytes(4, "little")
    with pytest.raises(container.ContainerError, match="unknown flags"):
        container.unpack(bytes(older))


def test_unknown_metadata_is_refused_when_stored():
    with pytest.raises(ValueError, match="unknown image metadata 'colour'"):
        image_info.entries({"colour": b"x"})
