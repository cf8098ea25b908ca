"""Codecs: push(message, symbols) -> message and pop(message) -> (message, symbols).

Element-wise codecs code a whole array per call, one distribution per element,
so Python overhead is per array. Combinators build bigger codecs from smaller
ones; the message is LIFO, so a composite pushes its parts in reverse order.
Parameters are validated before any bit is written (docs/CODER.md): an
invalid distribution raises CoderError and leaves the message untouched.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from . import kernels
from .message import CoderError, Message, check_precision, coding_ranges


class Codec:
    """A pair of inverse functions on a message."""

    def push(self, message: Message, symbols) -> Message:
        raise NotImplementedError

    def pop(self, message: Message):
        raise NotImplementedError


def _finite(name: str, values, positive: bool = False) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise CoderError(f"{name} must be finite")
    if positive and not np.all(array > 0):
        raise CoderError(f"{name} must be positive")
    return array


def log2(values, legacy: bool = False) -> np.ndarray:
    """log2 of positive values through kernels.exact_log, the same bits on every machine; with `legacy`,
    numpy's (files made before portable coding)."""
    values = np.asarray(values, dtype=np.float64)
    if legacy:
        return np.log2(values)
    flat = np.ascontiguousarray(values).reshape(-1)
    out = np.empty_like(flat)
    kernels.exact_log2_kernel(flat, out)
    return out.reshape(values.shape)


def exact_exp(values) -> np.ndarray:
    """e**values through kernels.exact_exp: the same bits on every machine."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    out = np.empty_like(values)
    kernels.exact_exp_kernel(values.reshape(-1), out.reshape(-1))
    return out


def exp2(values, legacy: bool = False) -> np.ndarray:
    """2**values through kernels.exact_exp (or numpy's exp2 with `legacy`)."""
    values = np.asarray(values, dtype=np.float64)
    return np.exp2(values) if legacy else exact_exp(values * kernels.LN2)


def row_sums(values: np.ndarray, legacy: bool = False) -> np.ndarray:
    """Sums over the last axis, correctly rounded (math.fsum: independent of order and vector width); numpy's
    sum with `legacy`."""
    if legacy:
        return values.sum(axis=-1)
    return np.array([math.fsum(row) for row in values.reshape(-1, values.shape[-1])]).reshape(values.shape[:-1])


class Elementwise(Codec):
    """An array of independent symbols, element i coded with its own distribution.

    Subclasses set shape, precision, alphabet, the kernel `kind` and its parameter arrays.
    """

    kind: int
    shape: tuple
    precision: int
    alphabet: int
    params: dict

    def push(self, message: Message, symbols) -> Message:
        flat = self._validated(symbols)
        return message.push(flat, self.precision, self.kind, self.alphabet, self.params)

    def information_bits(self, symbols) -> float:
        """-log2 of the quantised probabilities of the symbols: what an ideal coder would spend."""
        return float(self.element_bits(symbols).sum())

    def element_bits(self, symbols) -> np.ndarray:
        """-log2 of each symbol's quantised probability, shaped like the symbols."""
        flat = self._validated(symbols)
        freqs = coding_ranges(flat, self.precision, self.kind, self.alphabet, self.params)[1]
        return (self.precision - log2(freqs, self.kind >= kernels.LEGACY)).reshape(self.shape)

    def _validated(self, symbols) -> np.ndarray:
        symbols = np.asarray(symbols)
        if not np.issubdtype(symbols.dtype, np.integer):
            raise CoderError(f"symbols must be integers, got dtype {symbols.dtype}")
        if symbols.shape != self.shape:
            raise CoderError(f"symbols have shape {symbols.shape}, the codec expects {self.shape}")
        flat = symbols.reshape(-1).astype(np.int64)
        if flat.size and (flat.min() < 0 or flat.max() >= self.alphabet):
            raise CoderError(f"symbols must lie in 0..{self.alphabet - 1}")
        self.check_symbols(flat)
        return flat

    def check_symbols(self, flat: np.ndarray) -> None:
        """Further checks before anything is written; every symbol of the alphabet is codable by default."""

    def pop(self, message: Message):
        size = int(np.prod(self.shape, dtype=np.int64))
        message, flat = message.pop(size, self.precision, self.kind, self.alphabet, self.params)
        return message, flat.reshape(self.shape)


def as_shape(shape) -> tuple:
    """An int or a sequence of ints as a shape tuple."""
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)


class Uniform(Elementwise):
    """Uniform over 0 .. 2**precision - 1."""

    kind = kernels.UNIFORM

    def __init__(self, precision: int, shape=()):
        self.precision = check_precision(precision)
        self.alphabet = 1 << self.precision
        self.shape = as_shape(shape)
        self.params = {}


def quantise_cdf(probs: np.ndarray, precision: int) -> np.ndarray:
    """Integer CDF tables (rows of K+1 counts from 0 to 2**precision), every symbol >= 1 count."""
    alphabet = probs.shape[-1]
    total = 1 << precision
    cumulative = np.cumsum(probs / probs.sum(axis=-1, keepdims=True), axis=-1)
    cumulative = np.clip(cumulative, 0.0, 1.0)
    cumulative[..., -1] = 1.0
    counts = np.floor(cumulative * (total - alphabet)).astype(np.int64) + np.arange(1, alphabet + 1)
    zero = np.zeros(probs.shape[:-1] + (1,), dtype=np.int64)
    return np.concatenate([zero, counts], axis=-1).astype(np.uint32)


class IntegerCdf(Elementwise):
    """Symbols with explicit integer CDF tables of shape (..., K+1): symbol k of element i
    has start cdf[i, k] and frequency cdf[i, k+1] - cdf[i, k], out of 2**precision."""

    kind = kernels.TABLE

    def __init__(self, cdf, precision: int):
        cdf = np.asarray(cdf)
        if not np.issubdtype(cdf.dtype, np.integer) or cdf.ndim < 1 or cdf.shape[-1] < 2:
            raise CoderError("an integer CDF table needs an integer last axis of K+1 >= 2 entries")
        self.alphabet = cdf.shape[-1] - 1
        self.precision = check_precision(precision)
        if np.any(cdf[..., 0] != 0):
            raise CoderError("every CDF row must start at 0")
        if np.any(cdf[..., -1] != 1 << self.precision):
            raise CoderError(f"start + frequency must end at exactly 2**precision = {1 << self.precision} in every row")
        if np.any(np.diff(cdf.astype(np.int64), axis=-1) < 0):
            raise CoderError("CDF rows must be non-decreasing (a frequency cannot be negative)")
        self.shape = cdf.shape[:-1]
        self.params = {"table": np.ascontiguousarray(cdf.reshape(-1, self.alphabet + 1), dtype=np.uint32)}

    def check_symbols(self, flat: np.ndarray) -> None:
        table = self.params["table"]
        rows = np.arange(len(flat))
        if np.any(table[rows, flat + 1] == table[rows, flat]):
            raise CoderError("a symbol with frequency 0 cannot be coded")


class Categorical(IntegerCdf):
    """A categorical per element from probability tables of shape (..., K), quantised so
    that every symbol keeps at least one count."""

    def __init__(self, probs, precision: int = 24):
        probs = _finite("probabilities", probs)
        if probs.ndim < 1 or probs.shape[-1] < 1:
            raise CoderError("probabilities need a last axis of categories")
        if np.any(probs < 0) or np.any(probs.sum(axis=-1) <= 0):
            raise CoderError("probabilities must be non-negative with a positive sum per row")
        precision = check_precision(precision, probs.shape[-1])
        super().__init__(quantise_cdf(probs, precision), precision)


def Bernoulli(p, precision: int = 24) -> Categorical:
    """Bits with P(1) = p per element: a two-symbol categorical."""
    p = _finite("p", p)
    if np.any(p < 0) or np.any(p > 1):
        raise CoderError("p must lie in [0, 1]")
    return Categorical(np.stack([1.0 - p, p], axis=-1), precision)


class DiscretizedLogistic(Elementwise):
    """8-bit pixels under a logistic (mean, scale on the 0..255 scale); edge bins take the tails.
    `legacy`: libm's exp, as files made before portable coding were coded (kernels.LEGACY)."""

    alphabet = kernels.PIXEL_LEVELS

    def __init__(self, mean, scale, precision: int = 24, legacy: bool = False):
        self.kind = kernels.LEGACY_LOGISTIC if legacy else kernels.LOGISTIC
        mean = _finite("mean", mean)
        scale = _finite("scale", scale, positive=True)
        if mean.shape != scale.shape:
            raise CoderError(f"mean {mean.shape} and scale {scale.shape} differ in shape")
        self.precision = check_precision(precision, self.alphabet)
        self.shape = mean.shape
        self.params = {"a": mean.reshape(-1, 1), "b": scale.reshape(-1, 1)}


class MixtureDiscretizedLogistic(Elementwise):
    """8-bit pixels under a mixture of logistics; parameters have shape (..., components)."""

    kind = kernels.MIXTURE
    alphabet = kernels.PIXEL_LEVELS

    def __init__(self, weights, means, scales, precision: int = 24):
        weights = _finite("weights", weights)
        means = _finite("means", means)
        scales = _finite("scales", scales, positive=True)
        if not weights.shape == means.shape == scales.shape or weights.ndim < 1:
            raise CoderError("weights, means and scales must share one shape (..., components)")
        if np.any(weights < 0) or np.any(weights.sum(axis=-1) <= 0):
            raise CoderError("mixture weights must be non-negative with a positive sum")
        self.precision = check_precision(precision, self.alphabet)
        self.shape = weights.shape[:-1]
        components = weights.shape[-1]
        self.params = {
            "a": (weights / row_sums(weights)[..., None]).reshape(-1, components),  # sums independent of the CPU
            "b": means.reshape(-1, components),
            "c": scales.reshape(-1, components),
        }


class Serial(Codec):
    """Codes a tuple of symbol arrays, part i with codecs[i]."""

    def __init__(self, *codecs: Codec):
        self.codecs = codecs

    def push(self, message: Message, symbols: Sequence) -> Message:
        if len(symbols) != len(self.codecs):
            raise CoderError(f"expected {len(self.codecs)} parts, got {len(symbols)}")
        for codec, part in zip(reversed(self.codecs), reversed(tuple(symbols))):
            message = codec.push(message, part)
        return message

    def pop(self, message: Message):
        parts = []
        for codec in self.codecs:
            message, part = codec.pop(message)
            parts.append(part)
        return message, tuple(parts)


class Repeat(Serial):
    """The same codec `times` times in series."""

    def __init__(self, codec: Codec, times: int):
        super().__init__(*([codec] * times))


class BitsBack(Codec):
    """Bits-back coding of x with a latent z (BB-ANS).

    encode: pop z with posterior(x), push x with likelihood(z), push z with prior.
    decode: the exact reverse. The net cost per item is the negative ELBO of the
    discretised model; pops past the bottom of the message borrow the fixed splitmix64 words beneath it
    (kernels.virtual_word; Message.borrowed_bits counts them).
    """

    def __init__(self, prior: Codec, likelihood: Callable[[object], Codec], posterior: Callable[[object], Codec]):
        self.prior = prior
        self.likelihood = likelihood
        self.posterior = posterior

    def push(self, message: Message, x) -> Message:
        message, z = self.posterior(x).pop(message)
        message = self.likelihood(z).push(message, x)
        return self.prior.push(message, z)

    def pop(self, message: Message):
        message, z = self.prior.pop(message)
        message, x = self.likelihood(z).pop(message)
        return self.posterior(x).push(message, z), x
