"""Per-patch scale adaptation: the encoder widens or narrows each patch's logistics, and says by how much.

A photo model trained on some photographs is over-confident on grainier ones
(film grain, sensor noise) and slightly under-confident on smoother ones, and
the miss differs per channel and per region. So for every patch and coded
channel, the encoder shifts all the channel's log-scales by one of SHIFT_COUNT
values, from -0.5 to +1.375 in steps of 0.125, and picks the one under which
the patch's values cost the fewest bits by the continuous logistic probabilities,
for the latent that bits-back gave the patch. It searches by descent from no
shift (kernels.shift_search_kernel), which is the full search's choice wherever
the costs fall to one minimum and rise from it: in the validation photographs
all but two of 9,804 patch-channels do, the descent finds the cheapest shift
in those two as well, and it computes 4.3 of the 16 costs on average
(`python benchmarks/shift_descent.py FOLDER` counts both). It codes the pixels
with that shift and then pushes the shift's index, uniformly in SHIFT_BITS bits.
The decoder pops the indices first, then the pixels with the same shifts. Index
SHIFT_ZERO is the model as trained; the scales themselves come from
kernels.shifted_scale on both sides, so encoder and decoder agree bit for bit.
"""

from __future__ import annotations

import numpy as np

from bbvae.coder import Codec, CoderError, Message, Uniform, kernels
from bbvae.coder.local import LocalMixture

SHIFT_BITS = 4
SHIFT_COUNT = 1 << SHIFT_BITS
SHIFT_STEP = 0.125
SHIFT_ZERO = 4  # the index of no shift: shifts run from -SHIFT_ZERO to SHIFT_COUNT - 1 - SHIFT_ZERO steps
SHIFTS = (np.arange(SHIFT_COUNT) - SHIFT_ZERO) * SHIFT_STEP


def best_shifts(pixels: LocalMixture, groups: np.ndarray, count: int) -> np.ndarray:
    """Per group (0 .. count - 1; groups[i] is item i's), the index of the shift under which its values cost
    least, by descent from no shift (module docstring)."""
    return shift_search(pixels, groups, count)[0]


def shift_search(pixels: LocalMixture, groups: np.ndarray, count: int,
                 start: int = SHIFT_ZERO) -> tuple[np.ndarray, np.ndarray]:
    """best_shifts, descending from `start`, and the (count, SHIFT_COUNT) nats of every group under every shift
    that the descent computed (NaN for the others)."""
    costs, chosen = np.empty((count, SHIFT_COUNT)), np.empty(count, np.int64)
    kernels.shift_search_kernel(pixels.values(), groups, *pixels.unshifted_params(), SHIFTS, start, costs, chosen)
    return chosen, costs


def one_minimum(costs: np.ndarray) -> bool:
    """Whether a group's costs fall to their least and rise from it: where they do, the descent's choice is
    the full search's."""
    least = int(np.argmin(costs))
    return bool(np.all(np.diff(costs[:least + 1]) < 0) and np.all(np.diff(costs[least:]) > 0))


class ScaleShifted(Codec):
    """The items of a LocalMixture, each group of items with its own log-scale shift (module docstring)."""

    def __init__(self, pixels: LocalMixture, groups: np.ndarray, count: int):
        self.pixels, self.groups, self.count = pixels, np.ascontiguousarray(groups, dtype=np.int64), count
        if self.groups.shape != pixels.channels.shape:
            raise CoderError("groups must hold one group per item")
        if len(self.groups) and (self.groups.min() < 0 or self.groups.max() >= count):
            raise CoderError(f"groups must lie in 0..{count - 1}")  # the search kernel indexes by them unchecked
        self.indices = Uniform(SHIFT_BITS, count)

    def _shifted(self, indices: np.ndarray) -> LocalMixture:
        return self.pixels.with_shifts(SHIFTS[indices][self.groups])

    def values(self) -> np.ndarray:
        return self.pixels.values()

    def push(self, message: Message, symbols) -> Message:
        indices = best_shifts(self.pixels, self.groups, self.count)
        message = self._shifted(indices).push(message, symbols)
        return self.indices.push(message, indices)

    def pop(self, message: Message):
        message, indices = self.indices.pop(message)
        return self._shifted(indices).pop(message)
