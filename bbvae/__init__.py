"""bbvae: lossless image compression with bits-back ANS coding and VAEs.

`bbvae.compress(images) -> bytes` and `bbvae.decompress(data) -> images` are the
library API (bbvae.api); they load torch on first use, not on import.
"""

import os

# Files made before portable coding (docs/ARITHMETIC.md) were coded with libm's exp in Numba loops that
# encoder and decoder shape differently; with Intel's SVML installed, Numba could vectorise one of them
# with an exp that differs in the last bit. Keep libm's for them (this takes effect when bbvae is imported
# before numba); portable files use bbvae's own exact_exp, which SVML does not touch.
os.environ.setdefault("NUMBA_DISABLE_INTEL_SVML", "1")

__version__ = "0.1.0"


def __getattr__(name):
    if name in ("compress", "decompress", "CompressionError"):
        from bbvae import api

        return getattr(api, name)
    raise AttributeError(f"module 'bbvae' has no attribute {name!r}")
