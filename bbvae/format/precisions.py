"""Coding precisions: their one home, with the defaults that a container header leaves out.

A file records the precisions it was coded at only when they differ from these
defaults (bbvae/format/container.py), so a decoder rebuilds exactly the
encoder's codecs and a typical file spends no header bytes on them.
"""

from __future__ import annotations

import dataclasses

from bbvae.errors import ConfigError

SINGLE_IMAGE_LATENT = 5  # latent bits of a lone image of a model without an allocation table (benchmarks/precisions.py)
GROUP_SIZE = 64          # images per bits-back group of a set of same-sized images (bbvae/codecs/images.py)
LANES = 1                # interleaved ANS states of a message
MAX_GROUP = 4096         # images per batched network call


@dataclasses.dataclass(frozen=True)
class Precisions:
    """Coding precisions in bits (defaults: those for sets of images and for photographs)."""

    latent: int = 10     # 2**latent equal-mass bins per latent dimension
    posterior: int = 28  # quantisation of the posterior over those bins
    pixels: int = 24     # quantisation of each pixel's distribution

    @classmethod
    def for_images(cls, count: int) -> "Precisions":
        """The default for `count` same-sized images: a lone image gets coarser latent bins."""
        return cls(latent=SINGLE_IMAGE_LATENT) if count == 1 else cls()

    def check(self) -> "Precisions":
        if not 1 <= self.latent <= 16 or not self.latent <= self.posterior <= 31 or not 8 <= self.pixels <= 31:
            raise ConfigError(f"bad precisions {self}: need 1 <= latent <= 16, latent <= posterior <= 31, 8 <= pixels <= 31")
        return self

    def to_bytes(self) -> bytes:
        return bytes([self.latent, self.posterior, self.pixels])


PHOTOS = Precisions()  # every photograph's, whatever the number of images in the file
