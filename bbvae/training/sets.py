"""What a training run iterates over: whole images (MNIST-like sets) or random patches of photographs.

Both give batches as (pixels, coded) numpy pairs, where `coded` is the number
of real channels per item (None when every channel is real), so the training
loop does not care which kind of data it has.
"""

from __future__ import annotations

import numpy as np

from bbvae.datasets import sources as data
from bbvae.models.context import images_with_context
from bbvae.training.crops import PatchSampler

ALLOCATION_IMAGES = 300   # training items that fit the first item's latent bits (bbvae/training/allocation.py)
VALIDATION_SHARE = 12     # an image set's validation: one train image in twelve, from the end of the split,
MAX_VALIDATION = 5000     # and at most this many (MNIST trains on 55000 and reports on 5000)


def split_off_validation(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) of an image set's shipped train split: validation is its last VALIDATION_SHARE-th,
    at most MAX_VALIDATION images (none of a one-image set)."""
    held = min(MAX_VALIDATION, max(1, len(train) // VALIDATION_SHARE)) if len(train) > 1 else 0
    return train[:len(train) - held], train[len(train) - held:]


def image_split(dataset: str, split: str) -> np.ndarray:
    """A whole-image set's split as `bbvae train` sees it: validation and train from split_off_validation,
    test the shipped test split."""
    if split == "test":
        return data.load(dataset, "test")
    train, validation = split_off_validation(data.load(dataset, "train"))
    if split == "validation" and not len(validation):
        raise data.DataError(f"{dataset} has too few train images to hold any out as validation")
    return validation if split == "validation" else train


class ImageSet:
    """A fixed array of same-sized images (N, C, H, W), shuffled once per epoch.

    The digit sets ship train and test only, so the last share of the train split (one image in
    VALIDATION_SHARE, at most MAX_VALIDATION: MNIST's last 5000) is held out as validation: the per-epoch
    figures and best.safetensors come from it, and test stays for final figures (`bbvae card`, `bbvae eval`).
    With `context`, items carry the causal margins of a local-mixture model
    (N, C, H + 2, W + 4; bbvae/models/context.py), so a whole image is modelled as it is coded.
    """

    def __init__(self, dataset: str, seed: int, test_limit: int | None, context: bool = False):
        self.train, validation = split_off_validation(data.load(dataset, "train"))
        # a one-image set has nothing to spare: its figures come from test
        self.held_out = "validation" if len(validation) else "test"
        self.test = (validation if len(validation) else data.load(dataset, "test"))[:test_limit]
        self.image_shape = self.train.shape[1:]
        if context:
            self.train, self.test = images_with_context(self.train), images_with_context(self.test)
        self.seed = seed
        self._order = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.image_shape

    def describe(self) -> str:
        return f"{len(self.train)} train / {len(self.test)} {self.held_out} images of {self.shape}"

    def steps(self, batch: int) -> int:
        return len(self.train) // batch

    def batch(self, epoch: int, index: int, size: int):
        """The index-th batch of `size` (index counts over all processes) of the epoch's shuffle."""
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, np.random.default_rng(self.seed + epoch).permutation(len(self.train)))
        return self.train[self._order[1][index * size:(index + 1) * size]], None

    def test_set(self):
        return self.test, None

    def allocation_set(self):
        return self.train[:ALLOCATION_IMAGES], None


class PatchSet:
    """Random patches (with their causal context) of training photographs; a fixed grid of held-out ones for tests."""

    def __init__(self, dataset: str, patch: int, epoch_patches: int, seed: int, test_limit: int | None,
                 extra_photos: str | None = None):
        photos = data.load_photos(dataset, "train")
        if extra_photos:
            photos += data.load_all_photos(extra_photos)
        self.sampler = PatchSampler(photos, patch, augment=True)
        # per-epoch figures on validation where the set has one (bbvae photoset): test is for final figures only
        self.held_out = "validation" if dataset != "photos" and data.has_split_folders(dataset) else "test"
        test = PatchSampler(data.load_photos(dataset, self.held_out), patch).grid()
        self.test = (test[0][:test_limit], test[1][:test_limit])
        self.patch, self.epoch_patches, self.seed = patch, epoch_patches, seed

    @property
    def shape(self) -> tuple[int, int, int]:
        return (3, self.patch, self.patch)

    def describe(self) -> str:
        return (f"{len(self.sampler.photos) // 4} training photographs (x4 mirrored/transposed), {self.epoch_patches} random {self.patch}x{self.patch} "
                f"patches per epoch; {len(self.test[0])} held-out {self.held_out} patches")

    def steps(self, batch: int) -> int:
        return self.epoch_patches // batch

    def batch(self, epoch: int, index: int, size: int):
        return self.sampler.random(np.random.default_rng([self.seed, epoch, index]), size)

    def test_set(self):
        return self.test

    def allocation_set(self):
        return self.sampler.random(np.random.default_rng([self.seed, 1 << 20]), ALLOCATION_IMAGES)


def training_data(dataset: str, patch: int | None, epoch_patches: int, seed: int, test_limit: int | None,
                  local: bool = False, extra_photos: str | None = None):
    """Patches of photographs with `patch` (plus every photograph in `extra_photos`); otherwise whole images
    (with their context for a `local` model)."""
    if patch:
        return PatchSet(dataset, patch, epoch_patches, seed, test_limit, extra_photos)
    return ImageSet(dataset, seed, test_limit, context=local)


def evaluation_set(info, dataset: str, split: str):
    """(images, coded) that a model (its ModelInfo) is evaluated on: every whole patch of the photographs
    for a patch model, whole images otherwise (bbvae/models/evaluate.py adds a local model's margins)."""
    if info.config.patches:
        return PatchSampler(data.load_photos(dataset, split), info.config.height).grid()
    return image_split(dataset, split), None
