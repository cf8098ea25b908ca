"""Coding calls side by side in threads, in order: segments of a set of images, photographs, or the bands
of one photograph.

The networks (torch) and the coder's kernels (Numba, nogil) release the GIL, so threads share the cores
without what worker processes cost: a second start of torch and the kernels (seconds), a copy of every input,
and the `if __name__ == "__main__":` guard that spawning asks of a user's script. Any split decodes (the
container records it), and each thread computes the same numbers (bbvae/models/arithmetic.py), so
parallelism never changes a file's pixels.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

MIN_IMAGES_PER_JOB = 256  # smaller segments: each one's first image is coded without bits-back (codecs/direct.py)


def segments(count: int, jobs: int) -> list[slice]:
    """Contiguous segments of about equal size, one per thread. Any split decodes: the container records it."""
    parts = max(1, min(jobs, count // MIN_IMAGES_PER_JOB))
    bounds = np.linspace(0, count, parts + 1).astype(int)
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def in_threads(function, items: list, threads: int, progress=None) -> list:
    """[function(item, progress) for item in items], the items in up to `threads` threads, each with an equal share
    of torch's threads; progress calls are serialised. Each thread sees the caller's context variables
    (bbvae/models/recall.py)."""
    if threads <= 1 or len(items) <= 1:
        return [function(item, progress) for item in items]
    lock = threading.Lock()

    def reported(done):
        with lock:
            progress(done)

    workers = min(threads, len(items))
    context = contextvars.copy_context()
    with torch_threads(share_of_cores(workers)), ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(context.copy().run, function, item, reported if progress else None) for item in items]
        return [future.result() for future in futures]


_beside_pool: ThreadPoolExecutor | None = None
_beside_lock = threading.Lock()


def beside(function, *args) -> Future:
    """function(*args) in a thread kept for work that runs beside the model path (the PNG and WebP
    candidates). Threads are kept because a lone digit's whole compression takes a few milliseconds, and
    starting a thread per call is part of that where a thread that waits costs nothing."""
    global _beside_pool
    with _beside_lock:
        if _beside_pool is None:
            _beside_pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="bbvae-beside")
        return _beside_pool.submit(function, *args)


def _forget_beside_pool() -> None:
    """A forked child has none of its parent's threads: it starts a pool of its own when it needs one."""
    global _beside_pool, _beside_lock
    _beside_pool, _beside_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_beside_pool)


def share_of_cores(workers: int) -> int:
    """Torch threads per coding thread: the portable arithmetic's sums do not depend on them, so the coders
    share the cores instead of each starting one thread per core."""
    return max(1, (os.cpu_count() or 1) // workers)


@contextlib.contextmanager
def torch_threads(threads: int):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
