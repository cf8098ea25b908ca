"""The codec of a model file: whole images or patch strips, as the model's config says; built once per process."""

from __future__ import annotations

import functools

from bbvae.codecs.images import VAECodec
from bbvae.codecs.patches import PatchCodec
from bbvae.format.precisions import GROUP_SIZE, Precisions
from bbvae.models.modelfile import FIRST_LATENT_BITS, cached_model


@functools.lru_cache(maxsize=8)
def codec_for(model_path: str, precisions: Precisions, arithmetic: int, group_size: int | None = None,
              particles: int = 1, scale_shifts: bool = True) -> VAECodec | PatchCodec:
    """A patch model's PatchCodec (group_size and particles unused), else a VAECodec for sets of images
    (scale shifts unused; group_size None: the default). ValueError if the model cannot code with these settings."""
    model, info = cached_model(model_path)
    first_bits = info.codec.get(FIRST_LATENT_BITS)
    if info.config.patches:
        return PatchCodec(model, precisions, first_bits, scale_shifts, arithmetic)
    return VAECodec(model, precisions, group_size or GROUP_SIZE, first_bits, particles, arithmetic)
