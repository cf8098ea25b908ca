"""Whether Numba has the coder's kernels compiled for this installation already.

The first coding after an install (or after the source changed) compiles them, for about 15 s of
silence otherwise: the command says so once (cli/coding.py). Numba keeps them in its cache
(the package's __pycache__, or NUMBA_CACHE_DIR), keyed by the source file's time stamp.
"""

from __future__ import annotations


def kernels_compiled(names: tuple[str, ...] = ("bounds_kernel", "push_kernel", "pop_kernel", "fixed_point_kernel", "local_pop_kernel")) -> bool:
    """True when each named kernel (by default those every model coding runs) has a cached compilation for
    the current source; True if that cannot be known."""
    from bbvae.coder import kernels

    try:
        return all(getattr(kernels, name)._cache._cache_file._load_index() for name in names)
    except (AttributeError, OSError):  # Numba's private cache layout changed, or an unreadable cache: say nothing
        return True
