"""Pixels coded with a mixture of logistics whose parameters depend on already-coded neighbours.

This is the coding side of bbvae/models/likelihoods/local_mixture.py: per pixel, a small network
reads the decoder's features and the pixel's causal neighbours and gives each
channel's mixture (weights, means, scales). Encoding knows every pixel, so it
computes all parameters first and pushes them like any mixture; decoding must
pop in order, computing each pixel's parameters from the pixels it has just
decoded. Both sides compute them with the same Numba routines
(`_pixel_outputs`, `_item_mixture` and `shifted_scale` in kernels.py), so they agree bit for bit.

The pixels live in a context array (H + 2, W + 4, C) laid out as
bbvae/photos.with_context builds it (the image at [2:H+2, 2:W+2], 128 around
it); decoding writes the pixels into it.
"""

from __future__ import annotations

import copy

import numpy as np

from . import kernels
from .codecs import Codec, _finite, log2
from .message import CoderError, Message, check_precision, coding_ranges


class LocalMixture(Codec):
    """Items i = (pixel positions[i], channel channels[i]) of `context`, in decoding order.

    pixels[i]: item i's row in `features` (decoder features per pixel; items of one
    pixel are consecutive); w_in, w_out, b_out: the head's weights as in LocalHead
    (out x in); w_mid (L, hidden, hidden) and b_mid (L, hidden): its L residual layers (none by default).
    With `replicate`, a decoded value fills every channel (grey pixels coded by an
    RGB model: its first channel is coded, the others are copies). shifts[i] is
    added to item i's log-scales (none by default; bbvae/codecs/scale_shifts.py). `legacy`: libm's exp, as
    files made before portable coding were coded (kernels.LEGACY).
    """

    def __init__(self, context: np.ndarray, positions, channels, pixels, features, w_in, w_out, b_out, mixture: int,
                 precision: int = 24, replicate: bool = False, w_mid=None, b_mid=None, shifts=None, legacy: bool = False):
        if context.dtype != np.uint8 or context.ndim != 3:
            raise CoderError("the context must be a uint8 (H + 2, W + 4, C) array")
        self.context = context
        self.positions = np.ascontiguousarray(positions, dtype=np.int64)
        self.channels = np.ascontiguousarray(channels, dtype=np.int64)
        self.pixels = np.ascontiguousarray(pixels, dtype=np.int64)
        count = len(self.channels)
        height = context.shape[0] - kernels.LOCAL_CONTEXT
        width, depth = context.shape[1] - kernels.LOCAL_CONTEXT - kernels.LOCAL_CONTEXT_RIGHT, context.shape[2]
        if self.positions.shape != (count, 2) or self.pixels.shape != (count,):
            raise CoderError("positions must be (N, 2), pixels (N,), matching the channels")
        self.features = _finite("features", features)
        # transposed copies: the kernels read them row by row (_pixel_outputs)
        self.w_in = np.ascontiguousarray(_finite("w_in", w_in).T)
        self.w_out = np.ascontiguousarray(_finite("w_out", w_out).T)
        self.b_out = _finite("b_out", b_out)
        if self.w_in.ndim != 2:
            raise CoderError("the head's input weights must be a (hidden, inputs) matrix")
        hidden = self.w_in.shape[1]
        w_mid = _finite("w_mid", np.zeros((0, hidden, hidden)) if w_mid is None else w_mid)
        self.b_mid = _finite("b_mid", np.zeros((0, hidden)) if b_mid is None else b_mid)
        if w_mid.shape != (len(self.b_mid), hidden, hidden) or self.b_mid.shape[1:] != (hidden,):
            raise CoderError("the head's residual layers must be (L, hidden, hidden) weights and (L, hidden) biases")
        self.w_mid = np.ascontiguousarray(w_mid.transpose(0, 2, 1))
        if count:
            # a flat minimum and one maximum per column: numpy's reductions along axis 0 of an (N, 2) array are far slower
            rows, columns = self.positions[:, 0], self.positions[:, 1]
            if self.positions.min() < 0 or rows.max() >= height or columns.max() >= width:
                raise CoderError("a position lies outside the image")
            if self.channels.min() < 0 or self.channels.max() >= depth:
                raise CoderError("a channel lies outside the image")
            if self.pixels.min() < 0 or self.pixels.max() >= len(self.features):
                raise CoderError("a pixel has no features")
        inputs = self.w_in.shape[0]
        neighbours = inputs // depth  # the model reads the first `neighbours` of kernels.LOCAL_NEIGHBOURS
        if (inputs != neighbours * depth or not 1 <= neighbours <= len(kernels.LOCAL_NEIGHBOURS)
                or self.features.shape[1:] != (hidden,)
                or self.w_out.shape != (hidden, depth * kernels.local_outputs_per_channel(depth, mixture, neighbours))
                or self.b_out.shape != (self.w_out.shape[1],)):
            raise CoderError("the head's weights do not fit the context's channels and the mixture size")
        self.mixture = mixture
        self.precision = check_precision(precision, kernels.PIXEL_LEVELS)
        self.replicate = bool(replicate)
        if self.replicate:  # only the first channel is coded: the other channels' outputs would go unread
            first = kernels.local_outputs_per_channel(depth, mixture, neighbours)
            self.w_out, self.b_out = self.w_out[:, :first], self.b_out[:first]  # _padded_outputs copies them
        self.w_out, self.b_out = _padded_outputs(self.w_out, self.b_out)
        self.shifts = _finite("shifts", np.zeros(count) if shifts is None else shifts)
        if self.shifts.shape != (count,):
            raise CoderError("shifts must hold one log-scale shift per item")
        self.kind = kernels.LEGACY_MIXTURE if legacy else kernels.MIXTURE
        self._unshifted = self._shifted = None

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        shape = (len(self.channels), self.mixture)
        return np.empty(shape), np.empty(shape), np.empty(shape)

    def unshifted_params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every item's weights, means and unclamped, unshifted log-scales, computed once from the context's pixels."""
        if self._unshifted is None:
            weights, means, log_scales = self._arrays()
            kernels.local_params_kernel(self.context, self.positions, self.channels, self.pixels, self.features, self.w_in,
                                        self.w_mid, self.b_mid, self.w_out, self.b_out, weights, means, log_scales,
                                        self.kind == kernels.MIXTURE)
            self._unshifted = weights, means, log_scales
        return self._unshifted

    def with_shifts(self, shifts) -> "LocalMixture":
        """The same items with other log-scale shifts; shares the network's work done so far."""
        other = copy.copy(self)
        other._shifted = None
        other.shifts = _finite("shifts", shifts)
        if other.shifts.shape != self.shifts.shape:
            raise CoderError("shifts must hold one log-scale shift per item")
        return other

    def params(self) -> dict:
        """Every item's mixture (weights a, means b, scales c), computed once from the context's pixels."""
        if self._shifted is None:
            weights, means, log_scales = self.unshifted_params()
            scales = np.empty_like(log_scales)
            kernels.shifted_scales_kernel(log_scales, self.shifts, scales, self.kind == kernels.MIXTURE)
            self._shifted = {"a": weights, "b": means, "c": scales}
        return self._shifted

    def values(self) -> np.ndarray:
        """The context's pixels at the coded items: what push expects (pop writes them there)."""
        return self.context[self.positions[:, 0] + kernels.LOCAL_CONTEXT, self.positions[:, 1] + kernels.LOCAL_CONTEXT, self.channels].astype(np.int64)

    def _check(self, symbols) -> np.ndarray:
        symbols = np.asarray(symbols)
        stored = self.values()
        if symbols.shape != stored.shape or not np.array_equal(symbols, stored):
            raise CoderError("the symbols must be the context's pixels at the coded items")
        return stored

    def ranges(self, symbols) -> tuple[np.ndarray, np.ndarray]:
        """The symbols' (starts, freqs), as push codes them."""
        return coding_ranges(self._check(symbols), self.precision, self.kind, kernels.PIXEL_LEVELS, self.params())

    def push(self, message: Message, symbols) -> Message:
        return message.push_ranges(*self.ranges(symbols), self.precision)

    def information_bits(self, symbols) -> float:
        return float(self.element_bits(symbols).sum())

    def element_bits(self, symbols) -> np.ndarray:
        """-log2 of each item's quantised probability, in item order."""
        return self.precision - log2(self.ranges(symbols)[1], self.kind >= kernels.LEGACY)

    def pop(self, message: Message):
        out = np.empty(len(self.channels), dtype=np.int64)
        weights, means, scales = self._arrays()
        self._unshifted = self._shifted = None  # popping writes the context that the parameters are computed from
        message = message.pop_with(kernels.local_pop_kernel, self.precision, self.context, self.positions, self.channels,
                                   self.pixels, self.features, self.w_in, self.w_mid, self.b_mid, self.w_out,
                                   self.b_out, self.shifts, weights, means, scales, self.replicate, self.kind, out)
        return message, out

    def pop_expected(self, message: Message, params: dict, expected: tuple[np.ndarray, np.ndarray, np.ndarray]):
        """Pop the items with mixtures computed beforehand, expecting the symbols and ranges `expected` (the
        encoder's, for its check decode: bbvae/models/recall.py), writing them into the context as pop does."""
        message, out = message.pop_expected(expected, self.precision, self.kind, kernels.PIXEL_LEVELS, params)
        rows, columns = self.positions[:, 0] + kernels.LOCAL_CONTEXT, self.positions[:, 1] + kernels.LOCAL_CONTEXT
        if self.replicate:
            self.context[rows, columns, :] = out[:, None]
        else:
            self.context[rows, columns, self.channels] = out
        self._unshifted = self._shifted = None
        return message, out


def _padded_outputs(w_out_t: np.ndarray, b_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The head's transposed output weights and biases with zero outputs that no item reads, up to a multiple of 8:
    whole SIMD vectors, no scalar tail per row of weights."""
    width = w_out_t.shape[1] + -w_out_t.shape[1] % 8
    weights, biases = np.zeros((len(w_out_t), width)), np.zeros(width)
    weights[:, :w_out_t.shape[1]], biases[:len(b_out)] = w_out_t, b_out
    return weights, biases
