"""Hypothesis strategies for the coder: random messages, distributions and symbols."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from bbvae.coder import Message, Uniform


@st.composite
def messages(draw) -> Message:
    """A message with 1-4 lanes holding random words, sometimes in debt (borrowed bits)."""
    lanes = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    message = Message(lanes)
    borrow = draw(st.integers(0, 6))
    if borrow:
        message, _ = Uniform(31, borrow).pop(message)
    pushed = draw(st.integers(0, 40))
    if pushed:
        precision = draw(st.integers(1, 31))
        message = Uniform(precision, pushed).push(message, rng.integers(0, 1 << precision, pushed))
    return message


def rngs():
    return st.integers(0, 2**32 - 1).map(np.random.default_rng)


shapes = st.sampled_from([(1,), (7,), (3, 5), (64,)])
