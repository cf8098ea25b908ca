"""Frames and metadata (issue #18), through the command: a multi-frame image is refused rather than cut to its
first frame; ICC profile, EXIF, DPI and PNG text come back as they went in, unless --strip."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from helpers import run_cli
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from bbvae.format import container

ICC = bytes(range(256)) * 3  # any bytes: bbvae keeps a profile as it is, without reading it
EXIF = b"MM\x00*\x00\x00\x00\x08\x00\x00"


def _frames(seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)) for _ in range(3)]


@pytest.mark.parametrize("name, options", [("anim.gif", {"duration": 100}), ("pages.tiff", {}), ("anim.png", {"duration": 50})])
def test_a_multi_frame_image_is_refused_in_one_line(tmp_path, name, options):
    first, *rest = _frames()
    first.save(tmp_path / name, save_all=True, append_images=rest, **options)
    if name.endswith(".gif"):
        (tmp_path / name).rename(tmp_path / "anim.png")  # the suffix bbvae reads; Pillow reads the GIF inside
        name = "anim.png"
    result = run_cli("compress", name, cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "3 frames" in result.stderr and "single-frame" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def _described_png(path) -> np.ndarray:
    pixels = np.random.default_rng(3).integers(0, 256, (14, 16, 3), dtype=np.uint8)
    text = PngInfo()
    text.add_text("Author", "bbvae tests")
    text.add_itxt("Comment", "naïve café")
    Image.fromarray(pixels).save(path, icc_profile=ICC, exif=EXIF, dpi=(300, 300), pnginfo=text)
    return pixels


def _png_chunk_bytes(path, kinds: set[bytes]) -> int:
    """Bytes of a PNG's chunks of these kinds, their 12 bytes of framing included."""
    data, pos, total = path.read_bytes(), 8, 0
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        if data[pos + 4:pos + 8] in kinds:
            total += 12 + length
        pos += 12 + length
    return total


def test_metadata_comes_back_in_no_more_room_than_the_input_gave_it(tmp_path):
    pixels = _described_png(tmp_path / "x.png")
    assert run_cli("compress", "x.png", cwd=tmp_path).returncode == 0
    described = run_cli("info", "--json", "x.png.bbv", cwd=tmp_path)
    assert '"image_metadata": [["dpi", "exif", "icc_profile", "text"]]' in described.stdout
    restored = run_cli("decompress", "x.png.bbv", "-o", "back.png", cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    with Image.open(tmp_path / "back.png") as back, Image.open(tmp_path / "x.png") as original:
        assert np.array_equal(np.asarray(back), pixels)
        assert back.info["icc_profile"] == ICC and back.info["exif"] == original.info["exif"] and EXIF in back.info["exif"]
        assert [round(v) for v in back.info["dpi"]] == [300, 300]
        assert back.text == {"Author": "bbvae tests", "Comment": "naïve café"}
    stored = container.unpack((tmp_path / "x.png.bbv").read_bytes())
    from bbvae.format import image_info

    assert len(image_info.pack(stored.image_info)) <= _png_chunk_bytes(tmp_path / "x.png", {b"iCCP", b"eXIf", b"pHYs", b"tEXt", b"iTXt"})


def test_strip_leaves_the_metadata_out_and_a_format_that_cannot_hold_it_says_so(tmp_path):
    pixels = _described_png(tmp_path / "x.png")
    assert run_cli("compress", "--strip", "x.png", "-o", "bare.bbv", cwd=tmp_path).returncode == 0
    assert run_cli("decompress", "bare.bbv", "-o", "bare.png", cwd=tmp_path).returncode == 0
    with Image.open(tmp_path / "bare.png") as bare:
        assert np.array_equal(np.asarray(bare), pixels) and "icc_profile" not in bare.info and not bare.text
    assert container.unpack((tmp_path / "bare.bbv").read_bytes()).image_info is None
    assert run_cli("compress", "x.png", cwd=tmp_path).returncode == 0
    as_bmp = run_cli("decompress", "x.png.bbv", "-o", "x.bmp", cwd=tmp_path)
    assert as_bmp.returncode == 0 and "x.bmp cannot hold its dpi, exif, icc_profile, text" in as_bmp.stderr
    with Image.open(tmp_path / "x.bmp") as bmp:
        assert np.array_equal(np.asarray(bmp), pixels)


def test_the_restored_checksum_covers_the_metadata(tmp_path):
    """Metadata altered and the file checksum written again: decoding refuses it, as for altered pixels."""
    _described_png(tmp_path / "x.png")
    assert run_cli("compress", "x.png", cwd=tmp_path).returncode == 0
    data = bytearray((tmp_path / "x.png.bbv").read_bytes())
    box = container.unpack(bytes(data))
    box.image_info[0]["text"]["Author"] = "someone else"
    altered = bytearray(container.pack(box))  # the old restored checksum, the payload checksum recomputed
    assert altered[-4:] == data[-4:] and zlib.crc32(bytes(altered[:-8])) == int.from_bytes(altered[-8:-4], "little")
    (tmp_path / "altered.bbv").write_bytes(bytes(altered))
    result = run_cli("decompress", "altered.bbv", cwd=tmp_path)
    assert result.returncode == 1 and "checksum" in result.stderr and "altered" not in {p.stem for p in tmp_path.glob("*.png")}
