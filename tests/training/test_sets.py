"""Which photographs a patch model's training run learns from and reports on."""

from __future__ import annotations

import numpy as np
from helpers import image_folder
from PIL import Image

from bbvae.datasets.sources import load_folder
from bbvae.training.sets import VALIDATION_SHARE, ImageSet, PatchSet, image_split


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


def test_an_image_set_reports_on_validation_held_out_from_train(tmp_path):
    """Per-epoch figures of a whole-image model come from the end of the train split, which it then does
    not train on; test stays untouched for final figures."""
    folder = image_folder(tmp_path / "images", count=40)
    train, test = load_folder(str(folder), "train"), load_folder(str(folder), "test")
    images = ImageSet(str(folder), seed=0, test_limit=None)
    held = max(1, len(train) // VALIDATION_SHARE)
    assert images.held_out == "validation" and f"{held} validation images" in images.describe()
    np.testing.assert_array_equal(images.train, train[:-held])
    np.testing.assert_array_equal(images.test_set()[0], train[-held:])
    assert not any((image == test).all(axis=(1, 2, 3)).any() for image in images.test_set()[0])
    assert len(ImageSet(str(folder), seed=0, test_limit=1).test_set()[0]) == 1


def test_evaluation_sees_the_splits_that_training_saw(tmp_path):
    """`bbvae eval --split validation` of a digit model scores the images its training run reported on."""
    folder = image_folder(tmp_path / "images", count=40)
    images = ImageSet(str(folder), seed=0, test_limit=None)
    np.testing.assert_array_equal(image_split(str(folder), "validation"), images.test_set()[0])
    np.testing.assert_array_equal(image_split(str(folder), "train"), images.train)
    np.testing.assert_array_equal(image_split(str(folder), "test"), load_folder(str(folder), "test"))
