"""Network results that the check decode of `bbvae.compress` takes from the encoding it checks.

compress(verify=True) decodes the bytes it wrote and compares the pixels with its input. The
decoder calls the same coding networks (bbvae/models/arithmetic.py) on the same inputs as the
encoder did: the latents it pops are the ones the encoder pushed, and the pixels it restores are the
input, as long as the file is right. The portable networks give the same bits for the same input
(docs/ARITHMETIC.md), so a result the encoder computed is the result the decoder would compute, and
computing it twice in one process checks nothing. The check decode still runs the decoder's own
code for everything else (the pops, the container) and compares every pixel: a wrong pixel gives
other network inputs, which are computed afresh.

The per-pixel head's mixtures are taken the same way (`RecallingMixture`): the encoder computed them
from the input's pixels, and the decoder computes them from the pixels it has decoded before each one
with the same kernels (bbvae/coder/local.py), so while the decoded pixels are the input, they are the
encoder's. So are the pixels' ranges (counts below and frequencies), which the decoder's search would
compute from them: the check decode pops every pixel expecting the input's value and its range, takes the
value when the message's count falls in that range (as a search would find it), searches otherwise, and
compares the pixels as before: a wrong pixel makes the check fail. The decoder cannot know a strip's pixels before it pops them, so the
mixtures are kept under a fingerprint of what it does know (the features, the items, the shifts and
the head's weights); a strip that matches another's by accident pops wrong pixels, and compress then
runs its check again without kept results (bbvae/api.py) before it reports a failure.

Inside `remembering()`, `recalled` keeps each result under a digest of its exact input (kind,
dtype, shape and bytes) as a copy of its own, and hands that out once, the check decode's one use of
it. The oldest results go first when the kept bytes pass the budget: the decoder pops in the
reverse order of the encoder's pushes, so it asks for the newest first.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import hashlib
import threading

import numpy as np

from bbvae.coder.local import LocalMixture
from bbvae.coder.message import Message

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
        """Keeps a copy of result (an array or a tuple of arrays), unless it alone takes more than a quarter of
        the budget: the results of a strip of a photograph some 4000 pixels wide or more, of which the budget
        would hold two or three for a check that decodes dozens, so they would cost memory beside the encoding
        (a quarter of a gigabyte at 8000 pixels wide, benchmarks/large_image.py) and save the check little."""
        parts = (result,) if isinstance(result, np.ndarray) else tuple(result)
        size = sum(part.nbytes for part in parts)
        if size > self.budget // 4:
            return
        entry = (isinstance(result, np.ndarray), tuple(np.array(part, copy=True) for part in parts), size)
        with self.lock:
            if key in self.results:  # the same inputs again (two equal digits): one copy
                self.bytes -= self.results.pop(key)[2]
            self.results[key] = entry
            self.bytes += size
            while self.bytes > self.budget:
                self.bytes -= self.results.popitem(last=False)[1][2]

    def take(self, key):
        """The result kept under key (keep's own copy, which nothing else holds once it is forgotten here); None if
        there is none."""
        with self.lock:
            if key not in self.results:
                return None
            single, parts, size = self.results.pop(key)
            self.bytes -= size
            self.recalled += 1
        return parts[0] if single else parts


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


class RecallingMixture(LocalMixture):
    """A LocalMixture whose push keeps its mixtures inside `remembering()`, and whose pop takes them (the
    check decode), popping the pixels with them instead of running the head pixel by pixel."""

    def _fingerprint(self) -> tuple:
        arrays = (self.features, self.positions, self.channels, self.pixels, self.shifts, self.w_in, self.w_mid,
                  self.b_mid, self.w_out, self.b_out)
        return ("mixtures", self.context.shape, self.precision, self.kind, self.replicate,
                *(_words_digest(array) for array in arrays))

    def push(self, message: Message, symbols) -> Message:
        kept = _active.get()
        if kept is None:
            return super().push(message, symbols)
        starts, freqs = self.ranges(symbols)  # which checks that the symbols are the context's pixels
        params = self.params()
        kept.keep(self._fingerprint(), (params["a"], params["b"], params["c"], np.asarray(symbols, dtype=np.int64),
                                        starts, freqs))
        return message.push_ranges(starts, freqs, self.precision)

    def pop(self, message: Message):
        kept = _active.get()
        found = kept.take(self._fingerprint()) if kept is not None else None
        if found is None:
            return super().pop(message)
        return self.pop_expected(message, dict(zip("abc", found[:3])), found[3:])


def _words_digest(array: np.ndarray) -> tuple:
    """Shape and two wrapping sums of an array of 8-byte items: fast on a strip's features (a hash of
    their bytes would cost a tenth of the head's time), and a match by accident only costs a second check."""
    words = np.ascontiguousarray(array).reshape(-1).view(np.uint64)
    return array.shape, int(words.sum(dtype=np.uint64)), int(np.bitwise_xor.reduce(words)) if len(words) else 0
