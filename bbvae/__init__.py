"""bbvae: lossless image compression with bits-back ANS coding and VAEs.

`bbvae.compress(images) -> bytes` and `bbvae.decompress(data) -> images` are the
library API (bbvae.api); they load torch on first use, not on import.
"""

import os as _os

# Files made before portable coding (docs/ARITHMETIC.md) were coded with libm's exp in Numba loops that
# encoder and decoder shape differently; with Intel's SVML installed, Numba could vectorise one of them
# with an exp that differs in the last bit. Keep libm's for them (this takes effect when bbvae is imported
# before numba); portable files use bbvae's own exact_exp, which SVML does not touch.
_os.environ.setdefault("NUMBA_DISABLE_INTEL_SVML", "1")
# torch's OpenMP threads spin while they wait for each other. When another program holds a core, a spinning
# thread waits for one that is not running: a lone digit took 0.5 s instead of 23 ms, a photograph 2.5x as long
# (python benchmarks/threads.py). Passive waiting costs little on an idle machine and removes that; the
# coded numbers do not depend on it (docs/ARITHMETIC.md). Takes effect when bbvae is imported before torch.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"


# What `from bbvae import *`, dir() and help() show; loaded on first use, so that importing bbvae stays light.
_API = {"compress": "bbvae.api", "decompress": "bbvae.api", "describe": "bbvae.api", "Images": "bbvae.api",
        "CompressionError": "bbvae.api", "BbvaeError": "bbvae.errors", "ConfigError": "bbvae.errors",
        "ContainerError": "bbvae.format.container", "ImageError": "bbvae.io.images",
        "ModelFileError": "bbvae.models.modelfile"}
__all__ = sorted(_API)


def __getattr__(name):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'bbvae' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
