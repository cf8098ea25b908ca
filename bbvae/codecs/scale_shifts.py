"""Per-patch scale adaptation: the encoder widens or narrows each patch's logistics, and says by how much.

A photo model trained on some photographs is over-confident on grainier ones
(film grain, sensor noise) and slightly under-confident on smoother ones, and
the miss differs per channel and per region. So for every patch and coded
channel, the encoder shifts all the channel's log-scales by one of SHIFT_COUNT
values, from -0.5 to +1.375 in steps of 0.125: a coarse-to-fine search over
them (coarse_to_fine) picks the one under which the patch's values cost the
fewest bits by the continuous logistic probabilities, for the latent that
bits-back gave the patch. It codes the pixels with that shift and then pushes
the shift's index, uniformly in SHIFT_BITS bits.
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


COARSE = np.arange(0, SHIFT_COUNT, 4)  # the shifts tried first (SHIFT_ZERO among them); then +-2, then +-1 around the best
REFINEMENTS = (2, 1)


def coarse_to_fine(count: int, costs_of) -> np.ndarray:
    """Per group, the cheapest of COARSE, then the cheapest of it and its neighbours at each distance in
    REFINEMENTS: 8 of the 16 shifts. That is the cheapest of all when a group's cost is unimodal in the
    shift, and never costlier than no shift. costs_of(wanted) gives (count, SHIFT_COUNT) costs where the
    boolean array `wanted` is set; ties go to the smaller shift.
    """
    costs = np.full((count, SHIFT_COUNT), np.inf)  # inf: not tried yet
    wanted = np.zeros((count, SHIFT_COUNT), bool)
    wanted[:, COARSE] = True
    for step in (*REFINEMENTS, None):
        costs[wanted] = costs_of(wanted)[wanted]
        if step is None:
            return np.argmin(costs, axis=1)
        best = np.argmin(costs, axis=1)
        wanted = np.zeros_like(wanted)
        for neighbour in (best - step, best + step):
            inside = (neighbour >= 0) & (neighbour < SHIFT_COUNT)
            wanted[np.flatnonzero(inside), neighbour[inside]] = True
        wanted &= np.isinf(costs)  # a neighbour tried in an earlier stage keeps its cost


def best_shifts(pixels: LocalMixture, groups: np.ndarray, count: int) -> np.ndarray:
    """Per group (0 .. count - 1; groups[i] is item i's), the index of the shift under which its values
    cost least, found by coarse_to_fine."""
    values, params = pixels.values(), pixels.unshifted_params()

    def costs_of(wanted: np.ndarray) -> np.ndarray:
        costs = np.zeros(wanted.shape)
        kernels.shift_costs_kernel(values, groups, *params, SHIFTS, wanted, costs)
        return costs

    return coarse_to_fine(count, costs_of)


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
