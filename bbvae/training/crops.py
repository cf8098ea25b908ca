"""Random training crops of photographs, with the context margins they are coded with (bbvae/models/context.py).

Crops take their margins from the photograph around them (or the constant at
its edges), so that patches are modelled as they are coded.
"""

from __future__ import annotations

import numpy as np

from bbvae.errors import ConfigError
from bbvae.models.context import PHOTO_CHANNELS, as_photo_channels, with_context
from bbvae.models.likelihoods.local_mixture import CONTEXT, CONTEXT_RIGHT


def _variants(photo: np.ndarray) -> list[np.ndarray]:
    """The photo, mirrored, transposed and both: natural images too, so four times the training data.

    Each variant gets its own causal context, so crops of it are coded exactly as they are trained.
    """
    return [photo, photo[:, ::-1], photo.swapaxes(0, 1), photo[:, ::-1].swapaxes(0, 1)]


class PatchSampler:
    """Random (or grid) patches with their context from a list of photographs, in model layout (N, C, P+2, P+3).

    With `augment`, random patches come from every photo's four variants (_variants).
    Photos are drawn equally often whatever their size, so that one large photo
    (a mostly black retina scan, say) does not dominate.
    """

    def __init__(self, photos: list[np.ndarray], patch: int, augment: bool = False):
        self.patch = patch
        self.photos = []
        for photo in photos:
            if min(photo.shape[:2]) < patch:
                continue
            for variant in (_variants(photo) if augment else [photo]):
                pixels, coded = as_photo_channels(np.ascontiguousarray(variant))
                self.photos.append((with_context(pixels).transpose(2, 0, 1).copy(), coded))
        if not self.photos:
            raise ConfigError(f"no photograph is at least {patch}x{patch} pixels")

    def random(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        """`count` crops at uniform positions of uniformly drawn photos."""
        p = self.patch
        which = rng.integers(0, len(self.photos), size=count)
        rows, columns = p + CONTEXT, p + CONTEXT + CONTEXT_RIGHT
        batch = np.empty((count, PHOTO_CHANNELS, rows, columns), dtype=np.uint8)
        coded = np.empty(count, dtype=np.int64)
        for n, index in enumerate(which):
            padded, coded[n] = self.photos[index]
            top = rng.integers(0, padded.shape[1] - rows + 1)
            left = rng.integers(0, padded.shape[2] - columns + 1)
            batch[n] = padded[:, top:top + rows, left:left + columns]
        return batch, coded

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Every whole, non-overlapping patch of every photo (a fixed evaluation set)."""
        p = self.patch
        crops, coded = [], []
        rows, columns = p + CONTEXT, p + CONTEXT + CONTEXT_RIGHT
        for padded, coded_channels in self.photos:
            for top in range(0, padded.shape[1] - rows + 1, p):
                for left in range(0, padded.shape[2] - columns + 1, p):
                    crops.append(padded[:, top:top + rows, left:left + columns])
                    coded.append(coded_channels)
        return np.stack(crops), np.array(coded, dtype=np.int64)
