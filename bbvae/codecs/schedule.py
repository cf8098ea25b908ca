"""The bits-back schedule that every bbvae codec follows: the first unit coded directly, every later one with bits-back.

A unit is what one network call codes: a group of whole images
(bbvae/codecs/images.py) or a strip of patches of one photograph
(bbvae/codecs/patches.py). The first unit the encoder pushes has no bits on the
message to pop its latents from, so it is coded directly (bbvae/codecs/direct.py)
and the message holds real information before the first pop: nothing is
borrowed, and a file pays its initial bits once. Every later unit pops its
latents from what the units before it pushed (BB-ANS). The decoder pops the
units in reverse; a valid payload never borrows past what the message records
and ends on the empty message, so anything else is a corrupt payload.

The networks run in the arithmetic the container records
(bbvae/models/arithmetic.py): the portable fixed-point one, whose numbers are
the same on every machine, or for old files torch float32 on one CPU thread.
"""

from __future__ import annotations

import contextlib
from typing import Protocol

import numpy as np
import torch

from bbvae.coder import Codec, Message


class Units(Protocol):
    """What a codec tells the schedule about its units, numbered in the order the encoder pushes them."""

    legacy: bool  # the float32 arithmetic of files made before portable coding

    def direct(self, unit: int) -> Codec: ...     # the codec of the first unit (unit 0)

    def bits_back(self, unit: int) -> Codec: ...  # the codec of every later unit

    def values(self, unit: int) -> np.ndarray: ...  # what the encoder pushes for a unit

    def size(self, unit: int) -> int: ...         # images or strips, for progress


@contextlib.contextmanager
def coding_torch(legacy: bool):
    """No autograd while coding, and for the legacy arithmetic one CPU thread (its float sums depend on the
    thread count; the portable arithmetic's do not); restores the caller's settings."""
    threads = torch.get_num_threads()
    if legacy:
        torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            yield
    finally:
        torch.set_num_threads(threads)


class Stopped(Exception):
    """encode's caller said, through its `stop`, that the rest is not worth coding."""


def encode(units: Units, count: int, message: Message | None = None, progress=None, stop=None) -> Message:
    """Push units 0..count-1 in order: the first directly, the others with bits-back. stop(unit, message),
    asked after each unit but the last, raises Stopped when it says yes."""
    message = message if message is not None else Message()
    with coding_torch(units.legacy):
        for unit in range(count):
            codec = units.direct(unit) if unit == 0 else units.bits_back(unit)
            message = codec.push(message, units.values(unit))
            if progress:
                progress(units.size(unit))
            if stop is not None and unit < count - 1 and stop(unit, message):
                raise Stopped
    return message


def decode(units: Units, count: int, message: Message, progress=None) -> list:
    """Pop what `encode` pushed, last unit first; the popped values in unit order. ValueError if corrupt."""
    borrowed = message.debt
    popped = [None] * count
    with coding_torch(units.legacy):
        for unit in reversed(range(count)):
            codec = units.direct(unit) if unit == 0 else units.bits_back(unit)
            message, popped[unit] = codec.pop(message)
            if message.debt > borrowed:
                raise ValueError("corrupt payload: decoding ran past the start of the message")
            if progress:
                progress(units.size(unit))
    if message != Message(message.lanes):
        raise ValueError("corrupt payload: the message did not return to its empty state")
    return popped
