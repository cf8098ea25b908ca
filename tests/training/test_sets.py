"""Which photographs a patch model's training run learns from and reports on."""

from __future__ import annotations

import numpy as np
from PIL import Image

from bbvae.training.sets import PatchSet


def _photos(folder, count: int, seed: int):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for number in range(count):
        Image.fromarray(rng.integers(0, 256, (8 + number, 9, 3), dtype=np.uint8)).save(folder / f"p{number}.png")


def test_per_epoch_figures_come_from_validation_when_the_set_has_one(tmp_path):
    for split, count, seed in [("train", 3, 0), ("validation", 1, 1), ("test", 2, 2)]:
        _photos(tmp_path / split, count, seed)
    patches = PatchSet(str(tmp_path), 4, 16, 0, None)
    assert patches.held_out == "validation" and "validation patches" in patches.describe()
    assert len(patches.test[0]) == (8 // 4) * (9 // 4)  # the whole patches of one 8x9 photograph (test's two give 8)
