"""The container: exact pack/unpack of any header, and limits checked before allocation."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bbvae.format import container
from bbvae.format.container import FLAG_CUSTOM_CODING, PHOTO_CODING_VERSION, Container, ContainerError, PhotoRecord, Segment, pack, unpack
from bbvae.format.precisions import PHOTOS, Precisions

names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)


@st.composite
def containers(draw) -> Container:
    count = draw(st.integers(1, 6))
    same = draw(st.booleans())
    shape = st.tuples(st.integers(1, 5000), st.integers(1, 5000), st.integers(1, 4))
    shapes = [draw(shape)] * count if same else [draw(shape) for _ in range(count)]
    splits = draw(st.integers(1, count))
    counts = [count // splits + (1 if i < count % splits else 0) for i in range(splits)]
    return Container(
        fingerprint=draw(st.binary(min_size=4, max_size=4)), model_name=draw(names),
        precisions=Precisions(*draw(st.sampled_from([(5, 22, 24), (10, 22, 24), (8, 16, 12)]))),
        lanes=draw(st.integers(1, 4)), group_size=draw(st.sampled_from([64, 7])), shapes=shapes,
        names=draw(st.one_of(st.none(), st.lists(names, min_size=count, max_size=count))),
        metadata=draw(st.sampled_from([{}, {"archive": {"kind": "npy", "name": "x.npy", "arrays": [["", [count, 3, 4]]]}}])),
        segments=[Segment(c, draw(st.binary(max_size=40))) for c in counts],
        pixel_crc=draw(st.integers(0, 2**32 - 1)))


@given(containers())
def test_pack_and_unpack_round_trip(box):
    assert unpack(pack(box)) == box


def _photo_container(precisions: Precisions, count: int = 1) -> Container:
    record = PhotoRecord("L", "png", b"stored image").to_bytes()
    return Container(fingerprint=bytes(4), model_name="photo", precisions=precisions, lanes=1, group_size=None,
                     shapes=[(3, 4, 1)] * count, names=None, metadata={}, segments=[Segment(1, record)] * count,
                     pixel_crc=0, photos=True)


@pytest.mark.parametrize("count", [1, 3])
def test_a_photo_container_stores_only_the_coding_it_needs(count):
    """Photographs' own defaults (format 4): no coding bytes at the defaults, whatever the number of images;
    precisions and lanes, but never a group size, otherwise."""
    default = pack(_photo_container(PHOTOS, count))
    custom = pack(_photo_container(Precisions(8, 20, 16), count))
    assert default[3] == PHOTO_CODING_VERSION and not default[4] & FLAG_CUSTOM_CODING
    assert custom[4] & FLAG_CUSTOM_CODING and len(custom) == len(default) + 4
    for data in (default, custom):
        assert unpack(data) == _photo_container(unpack(data).precisions, count)
    assert unpack(custom).precisions == Precisions(8, 20, 16)


def forged(header: bytes) -> bytes:
    body = header
    return body + zlib.crc32(body).to_bytes(4, "little") + bytes(4)


@pytest.mark.parametrize("geometry", [
    b"\x80\x80\x80\x08" + b"\x1c\x1c\x01",            # 2^24 digits: a decompression bomb
    b"\x01" + b"\x80\x80\x80\x01" + b"\x01\x01",      # height 2^21: beyond the side limit
    b"\x02" + b"\x80\x80\x04" * 2 + b"\x04",           # 65536 x 65536 x 4, twice: too many samples
    b"\x01\x00\x05\x01",                               # an image with no pixels
])
def test_absurd_geometry_is_refused_before_decoding(geometry):
    header = b"BBV\x01" + bytes([2]) + bytes(4) + b"\x05mnist" + geometry
    with pytest.raises(ContainerError):
        unpack(forged(header))


@pytest.mark.parametrize("header", [
    b"BBV\x01" + bytes([2 | 8]) + bytes(4) + b"\x05mnist" + b"\x0a\x16\x18\x01" + b"\x00" + b"\x01\x1c\x1c\x01",  # group 0
    b"BBV\x01" + bytes([2 | 8]) + bytes(4) + b"\x05mnist" + b"\x0a\x16\x18\x00" + b"\x40" + b"\x01\x1c\x1c\x01",  # 0 lanes
    b"BBV\x01" + bytes([2]) + bytes(4) + b"\x05mnist" + b"\x00\x1c\x1c\x01",                                   # no images
    b"BBV\x01" + bytes([2 | 4]) + bytes(4) + b"\x05mnist" + b"\x01\x1c\x1c\x01" + b"\x08" + b"[" * 8,          # bad JSON
    b"BBV\x01" + bytes([2 | 4]) + bytes(4) + b"\x05mnist" + b"\x01\x1c\x1c\x01" + b"\x0e" + b'{"archive":1}',  # bad archive
])
def test_forged_coding_parameters_and_metadata_are_refused(header):
    with pytest.raises(ContainerError):
        unpack(forged(header))


@pytest.mark.parametrize("tail", [
    b"\x02" + b"\x00\x00" + b"\x02\x00",          # an empty segment
    b"\x03" + b"\x01\x00" * 3,                      # more segments than images
])
def test_segment_lists_are_checked(tail):
    header = b"BBV\x01" + bytes([2 | 16]) + bytes(4) + b"\x05mnist" + b"\x02\x1c\x1c\x01" + tail
    with pytest.raises(ContainerError):
        unpack(forged(header))


def test_npy_archive_metadata_has_exactly_one_array():
    meta = b'{"archive":{"kind":"npy","name":"x.npy","arrays":[["a",[1,28,28]],["b",[1,28,28]]]}}'
    header = b"BBV\x01" + bytes([2 | 4]) + bytes(4) + b"\x05mnist" + b"\x02\x1c\x1c\x01" + bytes([len(meta)]) + meta
    with pytest.raises(ContainerError, match="archive"):
        unpack(forged(header))


def test_deeply_nested_metadata_is_refused():
    nested = b"[" * 100_000
    header = b"BBV\x01" + bytes([2 | 4]) + bytes(4) + b"\x05mnist" + b"\x01\x1c\x1c\x01" + b"\xa0\x8d\x06" + nested
    with pytest.raises(ContainerError):
        unpack(forged(header))


def test_a_header_claiming_a_huge_photograph_for_a_small_message_is_refused_before_decoding(monkeypatch):
    """A 2.8 KB photo file rewritten to claim 65536x1 pixels: the message cannot hold the first strip's uniformly
    coded latents and shift indices for 2048 patches, so it is refused before any network runs."""
    import bbvae
    from bbvae.codecs import patches

    golden = (Path(__file__).parent.parent / "data" / "portable" / "photo.bbv").read_bytes()
    box = container.unpack(golden)
    box.shapes = [(1, container.MAX_SIDE, 3)]
    monkeypatch.setattr(patches.PatchCodec, "decode", lambda *_: pytest.fail("decoding began"))
    with pytest.raises(container.ContainerError, match="its message is too small for a 65536x1 image"):
        bbvae.decompress(container.pack(box))
