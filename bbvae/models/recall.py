"""Network results that the check decode of `bbvae.compress` takes from the encoding it checks.

compress(verify=True) decodes the bytes it wrote and compares the pixels with its input. The
decoder calls the same coding networks (bbvae/models/arithmetic.py) on the same inputs as the
encoder did: the latents it pops are the ones the encoder pushed, and the pixels it restores are the
input, as long as the file is right. The portable networks give the same bits for the same input
(docs/ARITHMETIC.md), so a result the encoder computed is the result the decoder would compute, and
computing it twice in one process checks nothing. The check decode still runs the decoder's own
code for everything else (the pops, the per-pixel head, the container) and compares every pixel:
a wrong pixel gives other network inputs, which are computed afresh.

Inside `remembering()`, `recalled` keeps each result under a digest of its exact input (kind,
dtype, shape and bytes) and hands out a copy; a result is given out once, the check decode's one use
of it. The oldest results go first when the kept bytes pass the budget: the decoder pops in the
reverse order of the encoder's pushes, so it asks for the newest first.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import hashlib
import threading

import numpy as np

BUDGET_BYTES = 256 << 20  # a 1000x1000 photograph's decoder features, or about 600 digits' outputs

_active: contextvars.ContextVar[_Kept | None] = contextvars.ContextVar("bbvae_recall", default=None)


class _Kept:
    """The kept results of one compress call; its segments, photographs or bands may run in threads
    (bbvae/parallel.py), hence the lock."""

    def __init__(self, budget: int):
        self.results: collections.OrderedDict = collections.OrderedDict()
        self.budget, self.bytes, self.recalled = budget, 0, 0
        self.lock = threading.Lock()

    def keep(self, key, result) -> None:
        """Keeps a copy of result (an array or a tuple of arrays)."""
        parts = (result,) if isinstance(result, np.ndarray) else tuple(result)
        size = sum(part.nbytes for part in parts)
        if size > self.budget:
            return
        entry = (isinstance(result, np.ndarray), tuple(np.array(part, copy=True) for part in parts), size)
        with self.lock:
            self.results[key] = entry
            self.bytes += size
            while self.bytes > self.budget:
                self.bytes -= self.results.popitem(last=False)[1][2]

    def take(self, key):
        """A copy of the result kept under key, which is then forgotten; None if there is none."""
        with self.lock:
            if key not in self.results:
                return None
            single, parts, size = self.results.pop(key)
            self.bytes -= size
            self.recalled += 1
        copies = tuple(np.array(part, copy=True) for part in parts)
        return copies[0] if single else copies


@contextlib.contextmanager
def remembering(budget: int = BUDGET_BYTES):
    """Keep network results for the rest of the block (one compress call and its check); yields the store,
    whose `recalled` counts the results given back."""
    kept = _Kept(budget)
    token = _active.set(kept)
    try:
        yield kept
    finally:
        _active.reset(token)


def recalled(owner: object, kind: str, inputs: np.ndarray, compute):
    """compute(inputs), or inside `remembering()` the copy of the same call's kept result. `owner` (the
    networks) and `kind` (which network) keep results of different networks apart; the result is an
    array or a tuple of arrays."""
    kept = _active.get()
    if kept is None:
        return compute(inputs)
    inputs = np.asarray(inputs)
    digest = hashlib.blake2b(np.ascontiguousarray(inputs).tobytes(), digest_size=20).digest()
    key = (id(owner), kind, inputs.dtype.str, inputs.shape, digest)
    result = kept.take(key)
    if result is None:
        result = compute(inputs)
        kept.keep(key, result)
    return result
