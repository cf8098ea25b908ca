"""Datasets load from installed packages, exactly, or say how to install them."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import image_folder

from bbvae.datasets import sources as data


def test_full_mnist_loads():
    train, test = data.load("mnist", "train"), data.load("mnist", "test")
    assert train.shape == (60000, 1, 28, 28) and test.shape == (10000, 1, 28, 28)
    assert train.dtype == np.uint8
    assert abs(train.mean() - 33.3184) < 1e-3  # the well-known mean pixel of MNIST's training set


def test_fashion_mnist_missing_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "FASHION_DIR", tmp_path / "absent")
    with pytest.raises(data.DataError, match="apt-get install dataset-fashion-mnist"):
        data.load("fashion-mnist", "train")


@pytest.mark.skipif(not data.FASHION_DIR.exists(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_loads():
    assert data.load("fashion-mnist", "test").shape == (10000, 1, 28, 28)


def test_folder_split_is_deterministic_and_disjoint(tmp_path):
    folder = image_folder(tmp_path / "imgs", count=60)
    train, test = data.load(str(folder), "train"), data.load(str(folder), "test")
    assert len(train) + len(test) == 60 and len(test) > 0
    np.testing.assert_array_equal(test, data.load(str(folder), "test"))


def test_unknown_dataset_and_split_are_named():
    with pytest.raises(data.DataError, match="unknown dataset"):
        data.load("cifar-11", "train")
    with pytest.raises(data.DataError, match="unknown split"):
        data.load("mnist", "validation")


def test_every_extra_photograph_loads_as_grey_or_rgb_and_16_bit_ones_are_refused(tmp_path):
    from PIL import Image

    from bbvae.datasets.sources import load_all_photos
    from bbvae.io.images import ImageError

    rgba = np.random.default_rng(0).integers(0, 256, (5, 7, 4), dtype=np.uint8)
    Image.fromarray(rgba).save(tmp_path / "a.png")
    Image.fromarray(rgba[:, :, 0]).save(tmp_path / "b.png")
    photos = load_all_photos(str(tmp_path))
    np.testing.assert_array_equal(photos[0], rgba[:, :, :3])
    np.testing.assert_array_equal(photos[1], rgba[:, :, 0])
    Image.fromarray(np.full((4, 4), 60000, dtype=np.uint16)).save(tmp_path / "c.png")
    with pytest.raises(ImageError, match="only 8-bit"):
        load_all_photos(str(tmp_path))
