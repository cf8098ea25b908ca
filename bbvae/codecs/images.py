"""Bits-back coding of images with a VAE (BB-ANS): the model meets the coder.

Images are coded in groups whose sizes double (1, 1, 2, 4, ... up to `group_size`).
The first image is coded directly, without bits-back: each latent dimension is
the bin of its posterior mean at that dimension's bits in the model's
allocation table (bbvae/training/allocation.py; without one, the latent precision),
pushed under the uniform prior, so the message holds real information before
the first pop and nothing is borrowed (docs/FORMAT.md, "What is coded").
Every later group pops its latents from the bits its predecessors pushed, and
large groups keep the network calls batched.
The networks run in the arithmetic the container records (bbvae/models/arithmetic.py):
the portable fixed-point one, whose numbers are the same on every machine, or for
old files torch float32 on the CPU with one thread and the same groups when
encoding and decoding.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Iterator

import numpy as np
import torch

from bbvae.codecs.direct import pop_direct_latents, push_direct_latents, quantised_latents
from bbvae.codecs.local_images import LocalImages
from bbvae.coder import BitsBack, DiscretizedLogistic, ImportanceBitsBack, LatentBins, Message, MixturePrior
from bbvae.coder.codecs import row_sums
from bbvae.format.container import MAX_GROUP, MAX_PARTICLES, default_coding
from bbvae.models import arithmetic as arithmetics
from bbvae.models.vae import VAE

(_LATENT, _POSTERIOR, _PIXELS), _, DEFAULT_GROUP = default_coding(2)


@dataclasses.dataclass(frozen=True)
class Precisions:
    """Coding precisions in bits, recorded in every container (defaults: those for sets of images)."""

    latent: int = _LATENT        # 2**latent equal-mass bins per latent dimension
    posterior: int = _POSTERIOR  # quantisation of the posterior over those bins
    pixels: int = _PIXELS        # quantisation of each pixel's discretized logistic

    @classmethod
    def default(cls, count: int) -> "Precisions":
        """The default for `count` images (coarser latent bins for a lone image)."""
        return cls(*default_coding(count)[0])

    def check(self) -> "Precisions":
        if not 1 <= self.latent <= 16 or not self.latent <= self.posterior <= 31 or not 8 <= self.pixels <= 31:
            raise ValueError(f"bad precisions {self}: need 1 <= latent <= 16, latent <= posterior <= 31, 8 <= pixels <= 31")
        return self


def mixture_moments(weights: np.ndarray, means: np.ndarray, stds: np.ndarray,
                    legacy: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per dimension of a mixture of diagonal Gaussians (weights (K,), means and stds (K, D)),
    with correctly rounded sums (numpy's matrix products for files made before portable coding)."""
    if legacy:
        w = weights / weights.sum()
        mean = w @ means
        second = w @ (stds ** 2 + means ** 2)
    else:
        w = weights / row_sums(weights)
        mean = row_sums((w[:, None] * means).T)
        second = row_sums((w[:, None] * (stds ** 2 + means ** 2)).T)
    return mean, np.sqrt(np.maximum(second - mean ** 2, 1e-12))


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


@contextlib.contextmanager
def deterministic_torch(legacy: bool):
    """No autograd while coding, and for the legacy arithmetic one CPU thread (its float sums depend on the
    thread count; the portable arithmetic's do not); restores the caller's settings."""
    threads = torch.get_num_threads()
    if legacy:
        torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            yield
    finally:
        torch.set_num_threads(threads)


class VAECodec:
    """Codes arrays of same-shaped images (N, C, H, W, uint8) on an ANS message."""

    def __init__(self, model: VAE, precisions: Precisions = Precisions(), group_size: int = DEFAULT_GROUP,
                 first_bits: np.ndarray | None = None, particles: int = 1, arithmetic: int = arithmetics.PORTABLE):
        """arithmetic: bbvae/models/arithmetic.py's PORTABLE (what new files get) or LEGACY (older files)."""
        self.model = model.eval()
        self.networks = arithmetics.coding_networks(model, arithmetic)
        self.legacy = arithmetic == arithmetics.LEGACY
        if not 1 <= particles <= MAX_PARTICLES:
            raise ValueError(f"particles must be 1..{MAX_PARTICLES}, got {particles}")
        if particles > 1 and model.cfg.prior not in ("normal", "floating"):
            raise ValueError("importance-weighted coding (particles > 1) needs the normal or floating prior")
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
        with deterministic_torch(self.legacy):
            mixture = self.networks.prior_mixture()
        # A mixture prior may hold latents far outside N(0, 1), where that distribution's equal-mass bins
        # are wide and the decoder would see coarse latents: the coder works on the latents standardised
        # by the mixture's own mean and std per dimension, z = shift + scale * u, on u's bins.
        self.shift, self.scale = (0.0, 1.0) if mixture is None else mixture_moments(*mixture, self.legacy)
        self.prior_mixture = None if mixture is None else (
            mixture[0], (mixture[1] - self.shift) / self.scale, mixture[2] / self.scale)
        self.head = model.head.coding_weights() if cfg.local else None

    def _bits_back(self, group: slice) -> BitsBack | ImportanceBitsBack:
        """One posterior sample per image (codes the negative ELBO), or `particles` of them (codes the IWAE bound).

        A group with K particles first pops K samples per image, so it needs about K times the
        posterior's bits on the message; images before particles * group_size use one
        sample, so that a file does not start by borrowing K times its initial bits.
        """
        count = group.stop - group.start
        if self.particles > 1 and group.start >= self.particles * self.group_size:
            return ImportanceBitsBack(self._prior(count), self._likelihood, self._posterior, self.particles,
                                      self.precisions.posterior, self.legacy)
        return BitsBack(self._prior(count), self._likelihood, self._posterior)

    def _prior(self, count: int):
        """Uniform over the equal-mass bins for N(0, I); nested bits-back for a mixture or two-stage prior."""
        if self.model.cfg.prior == "two-stage":
            return self._two_stage_prior(count)
        if self.prior_mixture is None:
            return self.bins.prior((count, self.model.cfg.latent))
        return MixturePrior(*self.prior_mixture, self.bins, count, self.precisions.posterior)

    def _gaussian_on_bins(self, part: str, indices: np.ndarray):
        mean, std = self.networks.second_stage(part, self.bins.values(indices))
        return self.bins.posterior(mean, std, self.precisions.posterior)

    def _two_stage_prior(self, count: int) -> BitsBack:
        """The second VAE's latent u is a second bits-back latent: pushing z pops u with q(u|z), pushes z
        under p(z|u) on the latent bins and pushes u under N(0, I); its net cost is -log2 p(z) up to the
        second VAE's own bound."""
        return BitsBack(self.bins.prior((count, self.model.prior.second)),
                        lambda u: self._gaussian_on_bins("likelihood", u),
                        lambda z: self._gaussian_on_bins("posterior", z))

    def _standardised_posterior(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of q(u|x) for the coded latents u = (z - shift) / scale."""
        mean, std = self.networks.posterior(images)
        return (mean - self.shift) / self.scale, std / self.scale

    def _posterior(self, images: np.ndarray):
        return self.bins.posterior(*self._standardised_posterior(images), self.precisions.posterior)

    def _likelihood(self, indices: np.ndarray) -> DiscretizedLogistic:
        return self._likelihood_at(self.bins.values(indices))

    def _likelihood_at(self, latents: np.ndarray) -> DiscretizedLogistic | LocalImages:
        """p(x | z): a logistic per pixel, or the local mixture over each image's decoded neighbours."""
        out = self.networks.decode(self.shift + self.scale * latents)
        if self.head is not None:
            return LocalImages(out, self.head, self.model.cfg.mixture, self.model.cfg.channels, self.precisions.pixels,
                               self.legacy)
        return DiscretizedLogistic(*self.networks.logistic(out), self.precisions.pixels, self.legacy)

    def _push_direct(self, message: Message, images: np.ndarray) -> Message:
        """The first image: each latent at its allocated bits (any choice decodes; this one is cheap)."""
        mean, _ = self._standardised_posterior(images)
        message = self._likelihood_at(quantised_latents(mean, self.first_bits, self.legacy)).push(message, images)
        return push_direct_latents(message, mean, self.first_bits, self.legacy)

    def _pop_direct(self, message: Message, count: int):
        message, latents = pop_direct_latents(message, count, self.first_bits, self.legacy)
        return self._likelihood_at(latents).pop(message)

    def _groups(self, count: int) -> Iterator[slice]:
        start = 0
        for size in group_sizes(count, self.group_size):
            yield slice(start, start + size)
            start += size

    def encode(self, images: np.ndarray, message: Message | None = None, progress=None) -> Message:
        """Push images (decoded in order by `decode`); returns the message."""
        if images.shape[1:] != self.image_shape:
            raise ValueError(f"images of shape {images.shape[1:]} do not fit the model's {self.image_shape}")
        message = message if message is not None else Message()
        groups = list(self._groups(len(images)))
        with deterministic_torch(self.legacy):
            for number, group in enumerate(groups):
                if number == 0:
                    message = self._push_direct(message, images[group])
                else:
                    message = self._bits_back(group).push(message, images[group])
                if progress:
                    progress(group.stop - group.start)
        return message

    def decode(self, message: Message, count: int, progress=None) -> np.ndarray:
        """Pop `count` images pushed by `encode` onto an empty message; ValueError if the payload is corrupt.

        Decoding retraces encoding, which never borrows more than the message records, so
        going past that (or words left over at the end) means a corrupt or forged payload.
        """
        images = np.empty((count, *self.image_shape), dtype=np.uint8)
        borrowed = message.debt
        with deterministic_torch(self.legacy):
            for number, group in reversed(list(enumerate(self._groups(count)))):
                if number == 0:
                    message, images[group] = self._pop_direct(message, group.stop - group.start)
                else:
                    message, images[group] = self._bits_back(group).pop(message)
                if message.debt > borrowed:
                    raise ValueError("corrupt payload: decoding ran past the start of the message")
                if progress:
                    progress(group.stop - group.start)
        if message != Message(message.lanes):
            raise ValueError("corrupt payload: the message did not return to its empty state")
        return images
