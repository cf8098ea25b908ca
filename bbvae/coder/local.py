"""Pixels coded with a mixture of logistics whose means depend on already-coded neighbours.

The photo likelihood (bbvae/local_mixture.py) predicts each value from its
left, upper and upper-left neighbours and the earlier channels of its pixel.
Encoding knows every pixel, so it computes all means first and pushes them
like any mixture; decoding must pop in order and compute each mean from the
pixels it has just decoded. Both sides compute the means with the same Numba
routine (`_prediction`), so they agree bit for bit.

The pixels live in a context array (H + 1, W + 1, C) laid out as
bbvae/photos.with_context builds it; decoding writes into it, including the
context row and column that copy the first row and column.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from . import kernels
from .codecs import Codec, MixtureDiscretizedLogistic, _finite
from .message import CoderError, Message

CENTRE = 128.0
NEIGHBOURS = 3  # left, up, up-left: coefficient n * C + d weighs neighbour n's channel d


@nb.njit(cache=True, inline="always")
def _prediction(context, y, x, c, coefficients, i):
    """Item i's prediction for channel c of pixel (y, x) from its causal neighbours (module docstring)."""
    channels = context.shape[2]
    pred = CENTRE
    for n in range(NEIGHBOURS):
        ny = y + 1 if n == 0 else y
        nx = x + 1 if n == 1 else x
        for d in range(channels):
            pred += coefficients[i, n * channels + d] * (np.float64(context[ny, nx, d]) - CENTRE)
    for d in range(c):
        pred += coefficients[i, NEIGHBOURS * channels + d] * (np.float64(context[y + 1, x + 1, d]) - CENTRE)
    return pred


@nb.njit(cache=True)
def local_means_kernel(context, positions, channels, coefficients, offsets, means):
    """Every item's component means, from a context array that holds all pixels (encoding)."""
    for i in range(positions.shape[0]):
        pred = _prediction(context, positions[i, 0], positions[i, 1], channels[i], coefficients, i)
        for k in range(offsets.shape[1]):
            means[i, k] = pred + offsets[i, k]


@nb.njit(cache=True, inline="always")
def _store(context, y, x, c, value, replicate):
    """Write a decoded value where the context array keeps it (and its copies in the context row/column)."""
    height, width = context.shape[0] - 1, context.shape[1] - 1
    first = 0 if replicate else c
    last = context.shape[2] if replicate else c + 1
    for d in range(first, last):
        context[y + 1, x + 1, d] = value
        if y == 0 and x + 2 <= width:
            context[0, x + 2, d] = value
        if x == 0 and y + 2 <= height:
            context[y + 2, 0, d] = value


@nb.njit(cache=True)
def local_pop_kernel(states, words, top, debt, precision, context, positions, channels, coefficients, offsets,
                     weights, means, scales, replicate, out):
    """Pop items in order, each mean computed from the pixels decoded before it. Returns (top, debt)."""
    lanes = states.shape[0]
    p = np.uint64(precision)
    mask = (kernels.ONE << p) - kernels.ONE
    total = np.int64(1) << precision
    table = np.zeros((1, 1), dtype=np.uint32)
    j = 0
    for i in range(positions.shape[0]):
        y, x, c = positions[i, 0], positions[i, 1], channels[i]
        pred = _prediction(context, y, x, c, coefficients, i)
        for k in range(offsets.shape[1]):
            means[i, k] = pred + offsets[i, k]
        s, top, debt = kernels.pop_symbol(states, j, words, top, debt, p, mask, total, kernels.MIXTURE, i,
                                          kernels.PIXEL_LEVELS, weights, means, scales, table)
        out[i] = s
        _store(context, y, x, c, np.uint8(s), replicate)
        j = j + 1 if j < lanes - 1 else 0
    return top, debt


class LocalMixture(Codec):
    """Items i = (pixel positions[i], channel channels[i]) of `context`, in decoding order.

    weights, offsets, scales: (N, K) per item; coefficients: (N, 4C). With
    `replicate`, a decoded value fills every channel (grey pixels coded by an RGB
    model: its first channel is coded, the others are copies).
    """

    def __init__(self, context: np.ndarray, positions, channels, weights, offsets, scales, coefficients,
                 precision: int = 24, replicate: bool = False):
        if context.dtype != np.uint8 or context.ndim != 3:
            raise CoderError("the context must be a uint8 (H + 1, W + 1, C) array")
        self.context = context
        self.positions = np.ascontiguousarray(positions, dtype=np.int64)
        self.channels = np.ascontiguousarray(channels, dtype=np.int64)
        count = len(self.channels)
        if self.positions.shape != (count, 2):
            raise CoderError("positions must be (N, 2) and match the channels")
        height, width, depth = context.shape[0] - 1, context.shape[1] - 1, context.shape[2]
        if count and (self.positions.min(0) < 0).any() or count and (self.positions.max(0) >= (height, width)).any():
            raise CoderError("a position lies outside the image")
        if count and (self.channels.min() < 0 or self.channels.max() >= depth):
            raise CoderError("a channel lies outside the image")
        self.offsets = _finite("offsets", offsets)
        self.coefficients = _finite("coefficients", coefficients)
        if self.coefficients.shape != (count, (NEIGHBOURS + 1) * depth) or self.offsets.shape[0] != count:
            raise CoderError("coefficients must be (N, 4C) and offsets (N, K)")
        # validates and normalises weights and scales exactly as a plain mixture does
        self.mixture = MixtureDiscretizedLogistic(weights, np.zeros_like(self.offsets), scales, precision)
        self.replicate = bool(replicate)

    def _codec_with_means(self) -> MixtureDiscretizedLogistic:
        means = np.empty_like(self.offsets)
        local_means_kernel(self.context, self.positions, self.channels, self.coefficients, self.offsets, means)
        codec = MixtureDiscretizedLogistic.__new__(MixtureDiscretizedLogistic)
        codec.precision, codec.shape = self.mixture.precision, self.mixture.shape
        codec.params = {**self.mixture.params, "b": means}
        return codec

    def values(self) -> np.ndarray:
        """The context's pixels at the coded items: what push expects (pop writes them there)."""
        return self.context[self.positions[:, 0] + 1, self.positions[:, 1] + 1, self.channels]

    def _check(self, symbols) -> np.ndarray:
        symbols = np.asarray(symbols)
        stored = self.values()
        if symbols.shape != stored.shape or not np.array_equal(symbols, stored):
            raise CoderError("the symbols must be the context's pixels at the coded positions")
        return symbols

    def push(self, message: Message, symbols) -> Message:
        return self._codec_with_means().push(message, self._check(symbols))

    def information_bits(self, symbols) -> float:
        return self._codec_with_means().information_bits(self._check(symbols))

    def pop(self, message: Message):
        out = np.empty(len(self.channels), dtype=np.int64)
        means = np.empty_like(self.offsets)
        params = self.mixture.params
        message = message.pop_with(local_pop_kernel, self.mixture.precision, self.context, self.positions,
                                   self.channels, self.coefficients, self.offsets, params["a"], means, params["c"],
                                   self.replicate, out)
        return message, out
