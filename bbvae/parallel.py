"""Coding calls in spawned worker processes, in order: segments of a set of images, or photographs.

Any split decodes (the container records it), and each process computes the same
numbers (bbvae/models/arithmetic.py), so parallelism never changes a file's pixels.
"""

from __future__ import annotations

import contextlib
import os
import sys
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

MIN_IMAGES_PER_JOB = 256  # below this a worker process costs more than it saves
PARENT_HEAD_START = 500  # about what the calling process codes while a spawned worker starts (10000 digits, 2 jobs: 2000 was slower)


class WorkerDied(Exception):
    """A worker process ended without a result (killed, usually for memory)."""


def segments(count: int, jobs: int) -> list[slice]:
    """Contiguous segments, one per process; the first, coded by the calling process while the
    workers start, is larger by a head start. Any split decodes: the container records it."""
    parts = max(1, min(jobs, count // MIN_IMAGES_PER_JOB))
    head = min(PARENT_HEAD_START, count // parts) if parts > 1 else 0
    bounds = head + np.linspace(0, count - head, parts + 1).astype(int)
    bounds[0] = 0
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def workers_can_start() -> bool:
    """Spawned workers re-import the main module; code read from stdin has no file to import."""
    main_file = getattr(sys.modules["__main__"], "__file__", None)
    return main_file is None or os.path.exists(main_file)


def run(function, calls, sizes, jobs, progress):
    """function(*call) for each call, in order. With jobs > 1 the first call runs here (progress per
    group) while spawned workers run the others (progress per finished call of `sizes` images)."""
    if jobs <= 1 or len(calls) <= 1 or not workers_can_start():
        return [function(*call, progress) for call in calls]
    workers = min(jobs - 1, len(calls) - 1)
    threads = share_of_cores(workers + 1)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_torch_threads,
                                 initargs=(threads,)) as pool, torch_threads(threads):
            futures = [pool.submit(function, *call) for call in calls[1:]]
            results = [function(*calls[0], progress)]
            for future, size in zip(futures, sizes[1:]):
                results.append(future.result())
                if progress:
                    progress(size)
            return results
    except BrokenExecutor:
        raise WorkerDied("a worker process died (out of memory?): try fewer --jobs") from None


def share_of_cores(processes: int) -> int:
    """Torch threads per coding process (or thread): the portable arithmetic's sums do not depend on them, so
    the coders share the cores instead of each starting one thread per core."""
    return max(1, (os.cpu_count() or 1) // processes)


def _torch_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


@contextlib.contextmanager
def torch_threads(threads: int):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
