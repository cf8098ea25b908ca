"""Whole images of a fixed size coded with the local mixture likelihood (a PixelVAE-like digit model).

A patch model codes one photograph of any size strip by strip
(bbvae/codecs/patches.py); a whole-image model with the local mixture codes a
batch of same-sized images at once, like the plain likelihood. Each image gets
its own causal margins (bbvae/models/context.py), and the batch's
contexts are stacked vertically into one tall context array: an image's
neighbours (at most two rows up) then never reach into the image above it, so
one LocalMixture (a RecallingMixture) codes the whole batch, image after image in raster order.
"""

from __future__ import annotations

import numpy as np

from bbvae.coder import Codec, Message
from bbvae.models.context import images_with_context
from bbvae.models.recall import RecallingMixture


class LocalImages(Codec):
    """Codes uint8 images (N, C, H, W) given the decoder's per-pixel features (N, hidden, H, W)."""

    def __init__(self, features: np.ndarray, head: dict[str, np.ndarray], mixture: int,
                 channels: int, precision: int, legacy: bool = False):
        self.count, hidden, self.height, self.width = features.shape
        self.channels = channels
        self.features = np.ascontiguousarray(features.transpose(0, 2, 3, 1)).reshape(-1, hidden)
        self.head, self.mixture, self.precision, self.legacy = head, mixture, precision, legacy

    def _codec(self, images: np.ndarray) -> RecallingMixture:
        """The LocalMixture over the stacked contexts of `images`; items in (image, row, column, channel) order."""
        n, c, h, w = self.count, self.channels, self.height, self.width
        framed = images_with_context(images)
        rows = framed.shape[2]
        context = np.ascontiguousarray(framed.transpose(0, 2, 3, 1)).reshape(n * rows, framed.shape[3], c)
        image, y, x, channel = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(h), np.arange(w), np.arange(c),
                                                               indexing="ij"))
        positions = np.stack([image * rows + y, x], 1)
        return RecallingMixture(context, positions, channel, (image * h + y) * w + x, self.features, mixture=self.mixture,
                            precision=self.precision, legacy=self.legacy, **self.head)

    def _check(self, images) -> np.ndarray:
        images = np.asarray(images)
        if images.shape != (self.count, self.channels, self.height, self.width) or images.dtype != np.uint8:
            raise ValueError(f"expected uint8 images {(self.count, self.channels, self.height, self.width)}, "
                             f"got {images.dtype} {images.shape}")
        return images

    def push(self, message: Message, images) -> Message:
        codec = self._codec(self._check(images))
        return codec.push(message, codec.values())

    def information_bits(self, images) -> float:
        return float(self.element_bits(images).sum())

    def element_bits(self, images) -> np.ndarray:
        """-log2 of each pixel value's quantised probability, shaped like the images."""
        codec = self._codec(self._check(images))
        bits = codec.element_bits(codec.values())
        return bits.reshape(self.count, self.height, self.width, self.channels).transpose(0, 3, 1, 2)

    def pop(self, message: Message):
        blank = np.zeros((self.count, self.channels, self.height, self.width), dtype=np.uint8)
        message, values = self._codec(blank).pop(message)
        images = values.reshape(self.count, self.height, self.width, self.channels).transpose(0, 3, 1, 2)
        return message, np.ascontiguousarray(images.astype(np.uint8))
