"""Nothing lost, nothing overwritten that should not be, and gzip's short flags (issue #18), through the command.

Each image here is small enough for the classical path or the shipped photo codec to code in a moment.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import numpy as np
from helpers import run_cli
from PIL import Image


def _png(path, seed: int = 0, size: int = 12):
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return pixels


def test_a_folder_with_files_bbvae_does_not_read_is_refused_unless_skipped_knowingly(tmp_path):
    folder = tmp_path / "shots"
    (folder / "sub").mkdir(parents=True)
    pixels = _png(folder / "a.png")
    Image.fromarray(pixels).save(folder / "sub" / "b.gif")
    (folder / "notes.txt").write_text("not an image")
    refused = run_cli("compress", str(folder), cwd=tmp_path)
    assert refused.returncode == 1 and "2 file(s) are not images" in refused.stderr
    assert "notes.txt" in refused.stderr and "sub/b.gif" in refused.stderr and "--skip-unsupported" in refused.stderr
    assert not (tmp_path / "shots.bbv").exists()
    done = run_cli("compress", str(folder), "--skip-unsupported", cwd=tmp_path)
    assert done.returncode == 0 and "left out 2 file(s)" in done.stderr
    restored = run_cli("decompress", str(tmp_path / "shots.bbv"), "-o", str(tmp_path / "back"), cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert sorted(p.name for p in (tmp_path / "back").rglob("*") if p.is_file()) == ["a.png"]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "back" / "a.png")), pixels)


def test_outputs_are_checked_before_anything_is_decoded_and_follow_their_names(tmp_path):
    _png(tmp_path / "x.png")
    assert run_cli("compress", "x.png", cwd=tmp_path).returncode == 0
    for output, reason in [("x.png", "exists (use --force"), ("missing/x.png", "the folder missing does not exist"),
                           ("out.gif", "does not write .gif files"), ("d2/", "is a folder")]:
        result = run_cli("decompress", "x.png.bbv", "-o", output, cwd=tmp_path)
        assert result.returncode == 1 and reason in result.stderr, (output, result.stderr)
    for output, reason in [("missing/x.bbv", "the folder missing does not exist"), ("d2/", "is a folder")]:
        result = run_cli("compress", "x.png", "-o", output, cwd=tmp_path)
        assert result.returncode == 1 and reason in result.stderr, (output, result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png", "x.png.bbv"]


def test_short_flags_and_standard_output(tmp_path):
    pixels = _png(tmp_path / "x.png", seed=1)
    packed = run_cli("compress", "-c", "-q", "-k", "x.png", cwd=tmp_path, text=False)
    assert packed.returncode == 0 and packed.stdout[:3] == b"BBV" and not packed.stderr
    (tmp_path / "y.bbv").write_bytes(packed.stdout)
    unpacked = run_cli("decompress", "-c", "y.bbv", cwd=tmp_path, text=False)
    assert unpacked.returncode == 0
    (tmp_path / "y.png").write_bytes(unpacked.stdout)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "y.png")), pixels)
    again = run_cli("compress", "-f", "-v", "x.png", "-o", "y.bbv", cwd=tmp_path)
    assert again.returncode == 0 and "image 0: RGB" in again.stderr


def test_binary_data_is_not_written_to_a_terminal(tmp_path):
    _png(tmp_path / "x.png", seed=2)
    leader, follower = pty.openpty()
    try:
        result = subprocess.run([sys.executable, "-m", "bbvae.cli.main", "compress", "-c", "x.png"], cwd=tmp_path,
                                stdout=follower, stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(follower)
        os.close(leader)
    assert result.returncode == 1 and "refusing to write compressed data to a terminal" in result.stderr


def test_links_and_special_files_are_never_replaced(tmp_path):
    _png(tmp_path / "x.png", seed=3)
    (tmp_path / "kept.bbv").write_bytes(b"someone's file")
    (tmp_path / "link.bbv").symlink_to(tmp_path / "kept.bbv")
    for output in ("link.bbv", "/dev/null"):
        result = run_cli("compress", "x.png", "-o", output, "--force", cwd=tmp_path)
        assert result.returncode == 1 and "is not a regular file" in result.stderr, result.stderr
    assert (tmp_path / "link.bbv").is_symlink() and (tmp_path / "kept.bbv").read_bytes() == b"someone's file"


def test_lossy_webp_is_refused_as_jpeg_is(tmp_path):
    pixels = np.random.default_rng(4).integers(0, 256, (12, 12, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "lossy.webp", quality=80)
    Image.fromarray(pixels).save(tmp_path / "lossless.webp", lossless=True)
    refused = run_cli("compress", "lossy.webp", cwd=tmp_path)
    assert refused.returncode == 1 and "lossy WebP is already lossy" in refused.stderr
    assert run_cli("compress", "lossless.webp", cwd=tmp_path).returncode == 0


def _png_header_claiming(width: int, height: int) -> bytes:
    """A PNG of a width x height grey image with almost no pixel data: a small file, a huge claim."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_a_decompression_bomb_is_refused_in_one_line_before_decoding(tmp_path):
    (tmp_path / "bomb.png").write_bytes(_png_header_claiming(12000, 12000))
    refused = run_cli("compress", "bomb.png", cwd=tmp_path)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "12000x12000 is more than 100000000 pixels" in refused.stderr and "Warning" not in refused.stderr
    _png(tmp_path / "small.png", seed=5)
    limited = run_cli("compress", "small.png", "--max-pixels", "100", cwd=tmp_path)
    assert limited.returncode == 1 and "12x12 is more than 100 pixels" in limited.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.png", "small.png"]
