"""Bits-back coding of sets of same-sized images with a VAE (BB-ANS): the model meets the coder.

Images are coded in groups whose sizes double (1, 1, 2, 4, ... up to `group_size`),
each group one unit of the bits-back schedule (bbvae/codecs/schedule.py): the
first image is coded directly, every later group pops its latents from the bits
its predecessors pushed, and large groups keep the network calls batched.
Encoder and decoder use the same groups, so even the legacy float32 arithmetic
sees the same batches on both sides.
"""

from __future__ import annotations

import numpy as np

from bbvae.codecs import schedule
from bbvae.codecs.direct import Direct
from bbvae.coder import BitsBack, DiscretizedLogistic, ImportanceBitsBack, LatentBins, Message
from bbvae.format.container import MAX_PARTICLES
from bbvae.format.precisions import GROUP_SIZE, MAX_GROUP, Precisions
from bbvae.models import arithmetic as arithmetics
from bbvae.models.vae import VAE


def group_sizes(count: int, group_size: int) -> list[int]:
    """1, 1, 2, 4, ... up to group_size, then group_size, with the remainder last; sums to count.

    Each group pops its latents from what the groups before it pushed; the second
    group has one image because the first, coded directly, pushes little more
    than one image's posterior bits.
    """
    if not 1 <= group_size <= MAX_GROUP:
        raise ValueError(f"group size must be 1..{MAX_GROUP}, got {group_size}")
    sizes, size = [], 1
    while count > 0:
        take = min(size, count)
        sizes.append(take)
        count -= take
        if len(sizes) > 1:
            size = min(2 * size, group_size)
    return sizes


class VAECodec:
    """Codes arrays of same-shaped images (N, C, H, W, uint8) on an ANS message."""

    def __init__(self, model: VAE, precisions: Precisions = Precisions(), group_size: int = GROUP_SIZE,
                 first_bits: np.ndarray | None = None, particles: int = 1, arithmetic: int = arithmetics.PORTABLE):
        """arithmetic: bbvae/models/arithmetic.py's PORTABLE (what new files get) or LEGACY (older files)."""
        self.model = model.eval()
        self.networks = arithmetics.coding_networks(model, arithmetic)
        self.legacy = arithmetic == arithmetics.LEGACY
        if not 1 <= particles <= MAX_PARTICLES:
            raise ValueError(f"particles must be 1..{MAX_PARTICLES}, got {particles}")
        if particles > 1 and not model.latent_prior.importance_weighted:
            raise ValueError(f"importance-weighted coding (particles > 1) cannot code under the {model.cfg.prior} prior")
        self.particles = particles
        self.precisions = precisions.check()
        group_sizes(1, group_size)  # validates it
        self.group_size = group_size
        self.bins = LatentBins(precisions.latent, self.legacy)
        latent = model.cfg.latent
        self.first_bits = np.full(latent, precisions.latent, np.uint8) if first_bits is None else np.asarray(first_bits)
        if self.first_bits.shape != (latent,):
            raise ValueError(f"the allocation table has {self.first_bits.shape} entries for {latent} latents")
        cfg = model.cfg
        self.image_shape = (cfg.channels, cfg.height, cfg.width)
        with schedule.coding_torch(self.legacy):  # the prior's codec, on the bins of u = (z - shift) / scale
            self.prior = model.latent_prior.coding(model, self.networks, self.bins, precisions.posterior, self.legacy)
        self.shift, self.scale = self.prior.shift, self.prior.scale
        self.pixels = model.likelihood.coding(model, self.networks, precisions.pixels, self.legacy)

    def _bits_back(self, group: slice) -> BitsBack | ImportanceBitsBack:
        """One posterior sample per image (codes the negative ELBO), or `particles` of them (codes the IWAE bound).

        A group with K particles first pops K samples per image, so it needs about K times the
        posterior's bits on the message; images before particles * group_size use one
        sample, so that a file does not start by borrowing K times its initial bits.
        """
        count = group.stop - group.start
        if self.particles > 1 and group.start >= self.particles * self.group_size:
            return ImportanceBitsBack(self.prior.codec(count), self._likelihood, self._posterior, self.particles,
                                      self.precisions.posterior, self.legacy)
        return BitsBack(self.prior.codec(count), self._likelihood, self._posterior)

    def _standardised_posterior(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of q(u|x) for the coded latents u = (z - shift) / scale."""
        mean, std = self.networks.posterior(images)
        return (mean - self.shift) / self.scale, std / self.scale

    def _posterior(self, images: np.ndarray):
        return self.bins.posterior(*self._standardised_posterior(images), self.precisions.posterior)

    def _likelihood(self, indices: np.ndarray) -> DiscretizedLogistic:
        return self._likelihood_at(self.bins.values(indices))

    def _likelihood_at(self, latents: np.ndarray):
        """p(x | z) for coded latents: the model's likelihood on the decoder's outputs."""
        return self.pixels(self.networks.decode(self.shift + self.scale * latents))

    def encode(self, images: np.ndarray, message: Message | None = None, progress=None) -> Message:
        """Push images (decoded in order by `decode`); returns the message."""
        if images.shape[1:] != self.image_shape:
            raise ValueError(f"images of shape {images.shape[1:]} do not fit the model's {self.image_shape}")
        groups = _Groups(self, len(images), images)
        return schedule.encode(groups, len(groups.slices), message, progress)

    def decode(self, message: Message, count: int, progress=None) -> np.ndarray:
        """Pop `count` images pushed by `encode` onto an empty message; ValueError if the payload is corrupt."""
        groups = _Groups(self, count)
        images = np.empty((count, *self.image_shape), dtype=np.uint8)
        for group, popped in zip(groups.slices, schedule.decode(groups, len(groups.slices), message, progress)):
            images[group] = popped
        return images


class _Groups:
    """A set of images as the schedule's units: its groups, the first coded directly."""

    def __init__(self, codec: VAECodec, count: int, images: np.ndarray | None = None):
        self.codec, self.images, self.legacy = codec, images, codec.legacy
        bounds = np.cumsum([0, *group_sizes(count, codec.group_size)])
        self.slices = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

    def direct(self, unit: int) -> Direct:
        """Each latent at its allocated bits (any choice decodes; this one is cheap)."""
        codec = self.codec
        return Direct(lambda images: codec._standardised_posterior(images)[0], codec._likelihood_at, codec.first_bits,
                      self.size(unit), codec.legacy)

    def bits_back(self, unit: int):
        return self.codec._bits_back(self.slices[unit])

    def values(self, unit: int) -> np.ndarray:
        return self.images[self.slices[unit]]

    def size(self, unit: int) -> int:
        return self.slices[unit].stop - self.slices[unit].start
