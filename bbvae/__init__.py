"""bbvae: lossless image compression with bits-back ANS coding and VAEs."""

__version__ = "0.1.0"
