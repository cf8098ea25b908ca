"""Bits-back coding of one photograph of any size with a patch model (grey or RGB).

Tiling: the image is cut into the model's P x P patches in raster order, patch t
at row t // columns, column t % columns. Edge rule: a patch that overhangs the
right or bottom edge is completed by repeating the image's last column and row
(numpy 'edge' padding), but only as input to the posterior network; the
overhanging pixels are never coded, so padding costs no bits, and the decoder
rebuilds them from pixels it has already decoded.

Order: pixels are decoded in raster order patch by patch, so every pixel's
causal neighbours (left, up, up-left, left-left, up-up) are known when it is
decoded (bbvae/coder/local.py), across patch borders too. The encoder therefore works
from the last patch back to the first, in groups of sizes 1, 1, 2, 4, ... up
to `group_size` that share network calls. The very first group it codes (the
last patch) is coded directly, without bits-back, like the first image of a set
(bbvae/vae_codec.py): the message holds real bits before the first pop, and a
file pays the initial bits once, however many patches it has.

Grey images are coded with the RGB model as three equal channels of which
only the first is coded. Memory stays bounded by one group's arrays, besides
the image itself and the message.
"""

from __future__ import annotations

import math

import numpy as np

from .allocation import quantised_latents
from .coder import BitsBack, LatentBins, Message
from .coder.local import LocalMixture
from .local_mixture import CONTEXT
from .photos import CONTEXT_FILL, PHOTO_CHANNELS, as_photo_channels, with_context
from .vae import VAE
from .vae_codec import (Precisions, canonical_tensor, deterministic_torch, group_sizes, pop_direct_latents,
                        push_direct_latents)


class PatchCodec:
    """Codes (H, W) grey or (H, W, 3) RGB uint8 images with a local-mixture patch model."""

    def __init__(self, model: VAE, precisions: Precisions, group_size: int, first_bits: np.ndarray | None = None):
        cfg = model.cfg
        if not cfg.local or cfg.channels != PHOTO_CHANNELS or cfg.height != cfg.width:
            raise ValueError("a patch codec needs a square RGB model with the local mixture likelihood")
        self.model = model.eval()
        self.patch = cfg.height
        self.precisions = precisions.check()
        group_sizes(1, group_size)
        self.group_size = group_size
        self.bins = LatentBins(precisions.latent)
        head = model.head
        self.head = tuple(t.detach().double().numpy() for t in (head.inputs.weight, head.out.weight, head.out.bias))
        self.first_bits = np.full(cfg.latent, precisions.latent, np.uint8) if first_bits is None else np.asarray(first_bits)

    def tiles(self, height: int, width: int) -> tuple[int, int]:
        """Patch rows and columns covering the image."""
        return math.ceil(height / self.patch), math.ceil(width / self.patch)

    def _groups(self, count: int) -> list[range]:
        """Patch ranges in encoding order: the last patch first, then groups growing towards patch 0."""
        groups, stop = [], count
        for size in group_sizes(count, self.group_size):
            groups.append(range(stop - size, stop))
            stop -= size
        return groups

    def _bounds(self, t: int, columns: int, height: int, width: int) -> tuple[int, int, int, int]:
        top, left = (t // columns) * self.patch, (t % columns) * self.patch
        return top, left, min(top + self.patch, height), min(left + self.patch, width)

    def _network_input(self, context: np.ndarray, patches: range, columns: int) -> np.ndarray:
        """(G, 3, P, P) uint8: each patch's real pixels, edge-padded to P x P."""
        height, width = context.shape[0] - CONTEXT, context.shape[1] - CONTEXT
        out = np.empty((len(patches), PHOTO_CHANNELS, self.patch, self.patch), dtype=np.uint8)
        for n, t in enumerate(patches):
            top, left, bottom, right = self._bounds(t, columns, height, width)
            real = context[top + CONTEXT:bottom + CONTEXT, left + CONTEXT:right + CONTEXT]
            padded = np.pad(real, ((0, self.patch - (bottom - top)), (0, self.patch - (right - left)), (0, 0)), mode="edge")
            out[n] = padded.transpose(2, 0, 1)
        return out

    def _items(self, patches: range, columns: int, height: int, width: int, coded: int):
        """Decoding order of a group's values: patch, row, column, channel. Returns image positions,
        channels, and each item's row in the group's (patch, row, column) feature table."""
        positions, channels, pixels = [], [], []
        p = self.patch
        for n, t in enumerate(patches):
            top, left, bottom, right = self._bounds(t, columns, height, width)
            ys, xs, cs = np.meshgrid(np.arange(top, bottom), np.arange(left, right), np.arange(coded), indexing="ij")
            positions.append(np.stack([ys.ravel(), xs.ravel()], 1))
            channels.append(cs.ravel())
            pixels.append(n * p * p + (ys.ravel() - top) * p + (xs.ravel() - left))
        return np.concatenate(positions), np.concatenate(channels), np.concatenate(pixels)

    def _pixels(self, context: np.ndarray, patches: range, columns: int, coded: int, latents: np.ndarray) -> LocalMixture:
        """The likelihood of a group's values given its latents."""
        height, width = context.shape[0] - CONTEXT, context.shape[1] - CONTEXT
        features = self.model.decoder(canonical_tensor(latents.astype(np.float32)))
        features = features.double().numpy().transpose(0, 2, 3, 1).reshape(-1, features.shape[1])
        positions, channels, pixels = self._items(patches, columns, height, width, coded)
        return LocalMixture(context, positions, channels, pixels, features, *self.head, self.model.cfg.mixture,
                            self.precisions.pixels, replicate=coded == 1)

    def _posterior(self, context: np.ndarray, patches: range, columns: int):
        mean, log_std = self.model.encoder(canonical_tensor(self._network_input(context, patches, columns)))
        return self.bins.posterior(mean.double().numpy(), log_std.double().exp().numpy(), self.precisions.posterior)

    def _bits_back(self, context, patches, columns, coded) -> BitsBack:
        prior = self.bins.prior((len(patches), self.model.cfg.latent))
        return BitsBack(prior, lambda indices: self._pixels(context, patches, columns, coded, self.bins.values(indices)),
                        lambda _values: self._posterior(context, patches, columns))

    def encode(self, image: np.ndarray, message: Message | None = None, progress=None) -> Message:
        """Push one image (grey (H, W) or RGB (H, W, 3)); `decode` gets it back."""
        pixels, coded = as_photo_channels(image)
        context = with_context(pixels)
        height, width = image.shape[:2]
        columns = self.tiles(height, width)[1]
        message = message if message is not None else Message()
        with deterministic_torch():
            for number, patches in enumerate(self._groups(self.count(height, width))):
                if number == 0:
                    mean = self.model.encoder(canonical_tensor(self._network_input(context, patches, columns)))[0].double().numpy()
                    codec = self._pixels(context, patches, columns, coded, quantised_latents(mean, self.first_bits))
                    message = push_direct_latents(codec.push(message, codec.values()), mean, self.first_bits)
                else:
                    positions, channels, _ = self._items(patches, columns, height, width, coded)
                    values = context[positions[:, 0] + CONTEXT, positions[:, 1] + CONTEXT, channels].astype(np.int64)
                    message = self._bits_back(context, patches, columns, coded).push(message, values)
                if progress:
                    progress(len(patches))
        return message

    def count(self, height: int, width: int) -> int:
        rows, columns = self.tiles(height, width)
        return rows * columns

    def decode(self, message: Message, height: int, width: int, coded: int, progress=None) -> np.ndarray:
        """Pop an image of the given size and coded channels (1 grey, 3 RGB); ValueError if the payload is corrupt."""
        context = np.full((height + CONTEXT, width + CONTEXT, PHOTO_CHANNELS), CONTEXT_FILL, dtype=np.uint8)
        columns = self.tiles(height, width)[1]
        borrowed = message.debt
        with deterministic_torch():
            for number, patches in reversed(list(enumerate(self._groups(self.count(height, width))))):
                if number == 0:
                    message, latents = pop_direct_latents(message, len(patches), self.first_bits)
                    message, _ = self._pixels(context, patches, columns, coded, latents).pop(message)
                else:
                    message, _ = self._bits_back(context, patches, columns, coded).pop(message)
                if message.debt > borrowed:
                    raise ValueError("corrupt payload: decoding ran past the start of the message")
                if progress:
                    progress(len(patches))
        if message != Message(message.lanes):
            raise ValueError("corrupt payload: the message did not return to its empty state")
        image = context[CONTEXT:, CONTEXT:]
        return np.ascontiguousarray(image[:, :, 0] if coded == 1 else image)
