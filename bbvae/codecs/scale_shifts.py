"""Per-patch scale adaptation: the encoder widens or narrows each patch's logistics, and says by how much.

A photo model trained on some photographs is over-confident on grainier ones
(film grain, sensor noise) and slightly under-confident on smoother ones, and
the miss differs per channel and per region. So for every patch and coded
channel, the encoder shifts all the channel's log-scales by one of SHIFT_COUNT
values, from -0.5 to +1.375 in steps of 0.125: the encoder tries them all (side
by side in SIMD lanes, kernels.shift_costs_kernel) and picks the one under which
the patch's values cost the fewest bits by the continuous logistic probabilities,
for the latent that bits-back gave the patch. It codes the pixels with that
shift and then pushes the shift's index, uniformly in SHIFT_BITS bits.
The decoder pops the indices first, then the pixels with the same shifts. Index
SHIFT_ZERO is the model as trained; the scales themselves come from
kernels.shifted_scale on both sides, so encoder and decoder agree bit for bit.
"""

from __future__ import annotations

import numpy as np

from bbvae.coder import Codec, Message, Uniform, kernels
from bbvae.coder.local import LocalMixture

SHIFT_BITS = 4
SHIFT_COUNT = 1 << SHIFT_BITS
SHIFT_STEP = 0.125
SHIFT_ZERO = 4  # the index of no shift: shifts run from -SHIFT_ZERO to SHIFT_COUNT - 1 - SHIFT_ZERO steps
SHIFTS = (np.arange(SHIFT_COUNT) - SHIFT_ZERO) * SHIFT_STEP


def best_shifts(pixels: LocalMixture, groups: np.ndarray, count: int) -> np.ndarray:
    """Per group (0 .. count - 1; groups[i] is item i's), the index of the shift under which its values
    cost least; ties go to the smaller shift."""
    costs = np.zeros((count, SHIFT_COUNT))
    kernels.shift_costs_kernel(pixels.values(), groups, *pixels.unshifted_params(), SHIFTS, costs)
    return np.argmin(costs, axis=1)


class ScaleShifted(Codec):
    """The items of a LocalMixture, each group of items with its own log-scale shift (module docstring)."""

    def __init__(self, pixels: LocalMixture, groups: np.ndarray, count: int):
        self.pixels, self.groups, self.count = pixels, np.ascontiguousarray(groups, dtype=np.int64), count
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
