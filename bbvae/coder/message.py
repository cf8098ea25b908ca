"""The ANS message: interleaved 64-bit states over one stack of 32-bit words.

A message is last-in first-out: pop the symbols in the reverse order of their
pushes. Codecs mutate the message in place and return it, so that a codec is a
pair push(message, symbols) -> message, pop(message) -> (message, symbols)
without copying the stack on every call.
"""

from __future__ import annotations

import numpy as np

from bbvae.errors import BbvaeError

from . import kernels, varint

MAX_LANES = 255
MAX_DEBT = 1 << 32  # words borrowed from below a message; real messages borrow a handful


class CoderError(BbvaeError, ValueError):
    """Invalid input to the coder: bad parameters, symbols, precisions or message bytes."""


def check_precision(precision: int, alphabet: int = 1) -> int:
    """A precision of 1..31 bits that leaves every one of `alphabet` symbols at least one count."""
    if not isinstance(precision, (int, np.integer)) or not 1 <= precision <= kernels.MAX_PRECISION:
        raise CoderError(f"precision must be an integer from 1 to {kernels.MAX_PRECISION} bits, got {precision!r}")
    if (1 << int(precision)) < alphabet:
        raise CoderError(f"precision {precision} is too small for {alphabet} symbols")
    return int(precision)


def coding_ranges(symbols: np.ndarray, precision: int, kind: int, alphabet: int, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """Each symbol's cumulative count and frequency out of 2**precision, exactly as the coder uses them."""
    starts, freqs = np.empty(len(symbols), dtype=np.int64), np.empty(len(symbols), dtype=np.int64)
    kernels.bounds_kernel(symbols, precision, kind, alphabet, *kernels.parameters(**params), starts, freqs)
    return starts, freqs


class Message:
    """ANS states (one per lane) over a shared stack of words, plus the borrowed-word count."""

    def __init__(self, lanes: int = 1):
        if not 1 <= lanes <= MAX_LANES:
            raise CoderError(f"lanes must be 1..{MAX_LANES}, got {lanes}")
        self.states = kernels.empty_states(lanes)
        self._words = np.zeros(256, dtype=np.uint32)
        self.top = 0
        self.debt = 0

    @property
    def lanes(self) -> int:
        return len(self.states)

    @property
    def words(self) -> np.ndarray:
        """The stack, bottom first (a view)."""
        return self._words[: self.top]

    @property
    def borrowed_bits(self) -> int:
        """Bits popped beyond the start of the message (kernels.virtual_word), not yet paid back."""
        return 32 * self.debt

    @property
    def bits(self) -> int:
        """Exact size of to_bytes() in bits."""
        return 8 * (len(varint.encode(self.lanes)) + len(varint.encode(self.debt)) + 8 * self.lanes + 4 * self.top)

    def copy(self) -> "Message":
        other = Message(self.lanes)
        other.states = self.states.copy()
        other._words = self.words.copy() if self.top else np.zeros(256, dtype=np.uint32)
        other.top, other.debt = self.top, self.debt
        return other

    def __eq__(self, other) -> bool:
        return (isinstance(other, Message) and self.debt == other.debt
                and np.array_equal(self.states, other.states) and np.array_equal(self.words, other.words))

    def __repr__(self) -> str:
        return f"Message(lanes={self.lanes}, words={self.top}, debt={self.debt}, bits={self.bits})"

    def _reserve(self, extra: int) -> None:
        need = self.top + extra
        if need > len(self._words):
            grown = np.zeros(max(need, 2 * len(self._words)), dtype=np.uint32)
            grown[: self.top] = self._words[: self.top]
            self._words = grown

    def push(self, symbols: np.ndarray, precision: int, kind: int, alphabet: int, params: dict) -> "Message":
        """Push a flat int64 array of already-validated symbols; codecs call this."""
        return self.push_ranges(*coding_ranges(symbols, precision, kind, alphabet, params), precision)

    def push_ranges(self, starts: np.ndarray, freqs: np.ndarray, precision: int) -> "Message":
        """Push symbols by their ranges (coding_ranges'), last first."""
        self._reserve(len(starts))
        self.top, self.debt = kernels.push_kernel(self.states, self._words, self.top, self.debt, precision, starts, freqs)
        return self

    def pop(self, count: int, precision: int, kind: int, alphabet: int, params: dict):
        """Pop `count` symbols as a flat int64 array; codecs call this."""
        out = np.empty(count, dtype=np.int64)
        self.top, self.debt = kernels.pop_kernel(self.states, self._words, self.top, self.debt, precision,
                                                 out, kind, alphabet, *kernels.parameters(**params))
        return self, out

    def pop_expected(self, expected: tuple[np.ndarray, np.ndarray, np.ndarray], precision: int, kind: int,
                     alphabet: int, params: dict):
        """pop, told the symbols to expect and their ranges (symbols, starts, freqs), as an encoder that checks
        its own message knows them (kernels.expected_pop_kernel)."""
        out = np.empty(len(expected[0]), dtype=np.int64)
        self.top, self.debt = kernels.expected_pop_kernel(self.states, self._words, self.top, self.debt, precision, out,
                                                          *expected, kind, alphabet, *kernels.parameters(**params))
        return self, out

    def pop_with(self, kernel, *args) -> "Message":
        """Run a pop loop kernel(states, words, top, debt, *args) -> (top, debt), for codecs with their own loop."""
        self.top, self.debt = kernel(self.states, self._words, self.top, self.debt, *args)
        return self

    def to_bytes(self) -> bytes:
        """Lanes and debt (varints), states (uint64 LE), then the words bottom first (uint32 LE)."""
        header = varint.encode(self.lanes) + varint.encode(self.debt)
        return header + self.states.astype("<u8").tobytes() + self.words.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Message":
        try:
            lanes, pos = varint.decode(data, 0)
            debt, pos = varint.decode(data, pos)
        except ValueError as exc:
            raise CoderError(f"corrupt message: {exc}") from None
        if not 1 <= lanes <= MAX_LANES:
            raise CoderError("corrupt message: bad lane count")
        if debt > MAX_DEBT:
            raise CoderError("corrupt message: impossible debt")
        body = len(data) - pos - 8 * lanes
        if body < 0 or body % 4:
            raise CoderError("corrupt or truncated message")
        message = cls(lanes)
        states = np.frombuffer(data, dtype="<u8", count=lanes, offset=pos).astype(np.uint64)
        if np.any(states < kernels.STATE_LOWER) or np.any(states >= np.uint64(1 << 63)):
            raise CoderError("corrupt message: state out of range")
        words = np.frombuffer(data, dtype="<u4", offset=pos + 8 * lanes).astype(np.uint32)
        if debt and len(words) and words[0] == kernels.virtual_word(debt - 1):
            raise CoderError("corrupt message: bottom word would have repaid the debt")
        message.states = states
        message._words = np.concatenate([words, np.zeros(256, dtype=np.uint32)])
        message.top, message.debt = len(words), debt
        return message
