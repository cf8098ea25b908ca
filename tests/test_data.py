"""Datasets load from installed packages, quickly and exactly, or say how to install them."""

from __future__ import annotations

import time

import numpy as np
import pytest

from bbvae import data

from helpers import image_folder


def test_full_mnist_loads_in_seconds():
    began = time.perf_counter()
    train, test = data.load("mnist", "train"), data.load("mnist", "test")
    assert time.perf_counter() - began < 10
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
