"""bbvae: lossless image compression with bits-back ANS coding and VAEs.

`bbvae.compress(images) -> bytes` and `bbvae.decompress(data) -> images` are the
library API (bbvae.api); they load torch on first use, not on import.
"""

__version__ = "0.1.0"


def __getattr__(name):
    if name in ("compress", "decompress", "CompressionError"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'bbvae' has no attribute {name!r}")
