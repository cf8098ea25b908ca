"""Block-averaging JPEG photographs into clean training photographs (bbvae/datasets/downscale.py)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import run_cli
from PIL import Image

from bbvae.datasets.downscale import block_mean


def test_each_output_pixel_is_the_rounded_mean_of_its_block_and_ragged_edges_are_cropped():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (9, 14, 3), dtype=np.uint8)
    small = block_mean(image, 4)
    assert small.shape == (2, 3, 3) and small.dtype == np.uint8
    for y in range(2):
        for x in range(3):
            block = image[4 * y:4 * y + 4, 4 * x:4 * x + 4].astype(np.int64)
            # sum / 16 rounded half to even, as np.rint does
            np.testing.assert_array_equal(small[y, x], np.rint(block.sum(axis=(0, 1)) / 16).astype(np.uint8))
    assert block_mean(np.full((5, 5), 200, dtype=np.uint8), 5).tolist() == [[200]]


def test_too_small_an_image_is_refused():
    with pytest.raises(ValueError, match="smaller than one 4x4 block"):
        block_mean(np.zeros((3, 40), dtype=np.uint8), 4)


def test_the_command_writes_every_photograph_as_a_smaller_png(tmp_path):
    source, out = tmp_path / "jpegs", tmp_path / "clean"
    (source / "sub").mkdir(parents=True)
    rng = np.random.default_rng(1)
    colour = rng.integers(0, 256, (40, 24, 3), dtype=np.uint8)
    Image.fromarray(colour).save(source / "sub" / "colour.jpg", quality=90)
    Image.fromarray(colour[:, :, 0]).save(source / "grey.png")
    done = run_cli("downscale", str(source), str(out), "--factor", "4")
    assert done.returncode == 0, done.stderr
    with Image.open(source / "sub" / "colour.jpg") as decoded:
        expected = block_mean(np.asarray(decoded), 4)
    with Image.open(out / "colour.png") as written:
        np.testing.assert_array_equal(np.asarray(written), expected)
    with Image.open(out / "grey.png") as written:
        assert written.mode == "L" and written.size == (6, 10)
    (tmp_path / "empty").mkdir()
    assert f"{out / 'grey.png'} 6x10" in done.stdout.splitlines()
    refused = run_cli("downscale", str(tmp_path / "empty"), str(tmp_path / "none"))
    assert refused.returncode == 1 and "no images" in refused.stderr and not (tmp_path / "none").exists()
    assert len(refused.stderr.strip().splitlines()) == 1
