"""Bits-back coding of one photograph of any size with a patch model (grey or RGB).

Tiling: the image is cut into the model's P x P patches, in rows of patches
("strips") of P pixel rows each. Edge rule: a patch that overhangs the right or
bottom edge is completed by repeating the image's last column and row (numpy
'edge' padding), but only as input to the posterior network; the overhanging
pixels are never coded, so padding costs no bits, and the decoder rebuilds them
from pixels it has already decoded.

Order: the decoder decodes strip by strip from the top, each strip in raster
order across the whole image width, so every pixel's causal neighbours (up to
two rows above, two columns left and right; bbvae/models/likelihoods/local_mixture.py) are decoded
before it, across patch borders too. A strip's patches share one network call.
The encoder works from the last strip back to the first, each strip one unit of
the bits-back schedule (bbvae/codecs/schedule.py): the very first strip it codes
(the bottom one) is coded directly, every other strip with bits-back.

With `scale_shifts` (the default; files of format version 1 have none), each
patch and coded channel gets its own log-scale shift, chosen by the encoder and
coded after the strip's pixels (bbvae/codecs/scale_shifts.py).

Grey images are coded with the RGB model as three equal channels of which
only the first is coded. Memory stays bounded by one strip's arrays, besides
the image itself and the message.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from bbvae.codecs import schedule
from bbvae.codecs.direct import Direct
from bbvae.codecs.scale_shifts import SHIFT_BITS, ScaleShifted
from bbvae.coder import BitsBack, LatentBins, Message
from bbvae.coder.local import LocalMixture
from bbvae.format.precisions import Precisions
from bbvae.models import arithmetic as arithmetics
from bbvae.models.context import PHOTO_CHANNELS, as_photo_channels, with_context
from bbvae.models.likelihoods.local_mixture import CONTEXT, CONTEXT_RIGHT
from bbvae.models.recall import RecallingMixture
from bbvae.models.vae import VAE


class PatchCodec:
    """Codes (H, W) grey or (H, W, 3) RGB uint8 images with a local-mixture patch model."""

    def __init__(self, model: VAE, precisions: Precisions, first_bits: np.ndarray | None = None,
                 scale_shifts: bool = True, arithmetic: int = arithmetics.PORTABLE):
        cfg = model.cfg
        if not cfg.local or cfg.channels != PHOTO_CHANNELS or cfg.height != cfg.width:
            raise ValueError("a patch codec needs a square RGB model with the local mixture likelihood")
        self.model = model.eval()
        self.networks = arithmetics.coding_networks(model, arithmetic)
        self.legacy = arithmetic == arithmetics.LEGACY
        self.patch = cfg.height
        self.precisions = precisions.check()
        self.bins = LatentBins(precisions.latent, self.legacy)
        self.head = model.head.coding_weights()
        self.first_bits = np.full(cfg.latent, precisions.latent, np.uint8) if first_bits is None else np.asarray(first_bits)
        self.scale_shifts = scale_shifts

    def _strip(self, context: np.ndarray, strip: int) -> tuple[int, int, int, int]:
        """(top, bottom) image rows of a strip, and the image's height and width."""
        height, width = context.shape[0] - CONTEXT, context.shape[1] - CONTEXT - CONTEXT_RIGHT
        top = strip * self.patch
        return top, min(top + self.patch, height), height, width

    def _network_input(self, context: np.ndarray, strip: int) -> np.ndarray:
        """(columns, 3, P, P) uint8: the strip's patches, edge-padded to P x P."""
        top, bottom, _, width = self._strip(context, strip)
        p = self.patch
        real = context[CONTEXT + top:CONTEXT + bottom, CONTEXT:CONTEXT + width]
        padded = np.pad(real, ((0, p - (bottom - top)), (0, -width % p), (0, 0)), mode="edge")
        return np.ascontiguousarray(padded.reshape(p, -1, p, PHOTO_CHANNELS).transpose(1, 3, 0, 2))

    def _items(self, context: np.ndarray, strip: int, coded: int):
        """The strip's values in decoding order (row, column, channel): image positions, channels, and
        each item's row in the strip's (patch, row, column) feature table."""
        top, bottom, _, width = self._strip(context, strip)
        positions, channels, pixels = _strip_items(bottom - top, width, coded, self.patch)
        positions = positions.copy()
        positions[:, 0] += top
        return positions, channels, pixels

    def _pixels(self, context: np.ndarray, strip: int, coded: int, latents: np.ndarray) -> LocalMixture | ScaleShifted:
        """The likelihood of a strip's values given its patches' latents."""
        features = self.networks.decode(latents)
        features = features.transpose(0, 2, 3, 1).reshape(-1, features.shape[1])
        positions, channels, pixels = self._items(context, strip, coded)
        codec = RecallingMixture(context, positions, channels, pixels, features, mixture=self.model.cfg.mixture,
                             precision=self.precisions.pixels, replicate=coded == 1, legacy=self.legacy, **self.head)
        if not self.scale_shifts:
            return codec
        return ScaleShifted(codec, (positions[:, 1] // self.patch) * coded + channels, len(latents) * coded)

    def _posterior(self, context: np.ndarray, strip: int):
        return self.bins.posterior(*self.networks.posterior(self._network_input(context, strip)), self.precisions.posterior)

    def _bits_back(self, context: np.ndarray, strip: int, coded: int) -> BitsBack:
        columns = math.ceil(self._strip(context, strip)[3] / self.patch)
        prior = self.bins.prior((columns, self.model.cfg.latent))
        return BitsBack(prior, lambda indices: self._pixels(context, strip, coded, self.bins.values(indices)),
                        lambda _values: self._posterior(context, strip))

    def strips(self, height: int) -> int:
        return math.ceil(height / self.patch)

    def first_pop_bits(self, height: int, width: int, coded: int) -> int:
        """Bits that decoding takes from the message before it gives any back: the first strip it pops (the top
        one) begins with uniformly coded latents (the prior's equal-mass bins, or for a one-strip image the
        directly coded ones) and, with scale shifts, the strip's shift indices. A message smaller than this
        cannot be an image of this size, which lets the decoder refuse a header that claims a huge image
        before it allocates for one."""
        columns = math.ceil(width / self.patch)
        latent_bits = int(np.sum(self.first_bits)) if self.strips(height) == 1 else self.precisions.latent * self.model.cfg.latent
        return columns * (latent_bits + (SHIFT_BITS * coded if self.scale_shifts else 0))

    def most_returned_bits(self, strips: int, width: int, coded: int) -> int:
        """At most how many bits `strips` more strips of an image `width` wide can take off a message (the
        encoder pushes them): bits-back pops each latent from the posterior, at most `posterior` bits (and a
        fraction for the coder's rounding), and pushes it back under the prior's equal-mass bins at `latent`
        bits; every pixel pushed adds its information, less at most a 64th of a bit of rounding (a state of at
        least 2**31 against a frequency below 2**24 loses under 0.012 bits)."""
        columns = math.ceil(width / self.patch)
        per_patch = self.model.cfg.latent * (self.precisions.posterior - self.precisions.latent + 1) \
            + math.ceil(self.patch * self.patch * coded / 64)
        return strips * columns * per_patch

    def encode(self, image: np.ndarray, message: Message | None = None, progress=None, stop=None) -> Message:
        """Push one image (grey (H, W) or RGB (H, W, 3)); `decode` gets it back. stop: as schedule.encode's,
        asked after each strip."""
        pixels, coded = as_photo_channels(image)
        strips = _Strips(self, with_context(pixels), coded)
        return schedule.encode(strips, self.strips(image.shape[0]), message, progress, stop)

    def decode(self, message: Message, height: int, width: int, coded: int, progress=None) -> np.ndarray:
        """Pop an image of the given size and coded channels (1 grey, 3 RGB); ValueError if the payload is corrupt."""
        context = with_context(np.zeros((height, width, PHOTO_CHANNELS), dtype=np.uint8))
        schedule.decode(_Strips(self, context, coded), self.strips(height), message, progress)  # pops fill the context
        image = context[CONTEXT:, CONTEXT:CONTEXT + width]
        return np.ascontiguousarray(image[:, :, 0] if coded == 1 else image)


@functools.lru_cache(maxsize=4)
def _strip_items(rows: int, width: int, coded: int, patch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PatchCodec._items of a strip at the top of the image: every full strip of an image has the same
    channels and feature rows, and positions only moved down, so they are made once (nothing writes to them)."""
    ys, xs, cs = np.meshgrid(np.arange(rows), np.arange(width), np.arange(coded), indexing="ij")
    ys, xs, cs = ys.ravel(), xs.ravel(), cs.ravel()
    return np.stack([ys, xs], 1), cs, (xs // patch) * patch * patch + ys * patch + xs % patch


class _Strips:
    """One photograph's strips as the schedule's units, bottom strip first (the decoder pops it last)."""

    legacy: bool

    def __init__(self, codec: PatchCodec, context: np.ndarray, coded: int):
        self.codec, self.context, self.coded, self.legacy = codec, context, coded, codec.legacy
        self.last = codec.strips(context.shape[0] - CONTEXT) - 1

    def direct(self, unit: int) -> Direct:
        codec, context, strip = self.codec, self.context, self.last - unit
        columns = math.ceil(codec._strip(context, strip)[3] / codec.patch)
        return Direct(lambda _values: codec.networks.posterior(codec._network_input(context, strip))[0],
                      lambda latents: codec._pixels(context, strip, self.coded, latents), codec.first_bits, columns,
                      codec.legacy)

    def bits_back(self, unit: int) -> BitsBack:
        return self.codec._bits_back(self.context, self.last - unit, self.coded)

    def values(self, unit: int) -> np.ndarray:
        positions, channels, _ = self.codec._items(self.context, self.last - unit, self.coded)
        return self.context[positions[:, 0] + CONTEXT, positions[:, 1] + CONTEXT, channels].astype(np.int64)

    def size(self, unit: int) -> int:
        top, bottom, _, _ = self.codec._strip(self.context, self.last - unit)
        return bottom - top  # pixel rows: progress on a single large photograph
