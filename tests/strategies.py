"""Hypothesis strategies for the coder: random messages, distributions and symbols; random local-model parts."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from bbvae.coder import Message, Uniform
from bbvae.coder.kernels import LOCAL_NEIGHBOURS, local_outputs_per_channel
from bbvae.models.vae import MAX_LOCAL_LAYERS


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


def random_parts(rng: np.random.Generator, count: int, channels: int, height: int, width: int, mixture: int,
                 hidden: int = 5):
    """Decoder features (count, hidden, H, W) and head weights (as LocalHead.coding_weights) of a random local model."""
    features = rng.normal(0, 1, (count, hidden, height, width))
    neighbours = int(rng.integers(1, len(LOCAL_NEIGHBOURS) + 1))  # a model reads the first `neighbours` of them
    residual = int(rng.integers(0, MAX_LOCAL_LAYERS))  # hidden layers after the first
    w_out = rng.normal(0, 0.3, (channels * local_outputs_per_channel(channels, mixture, neighbours), hidden))
    return features, {"w_in": rng.normal(0, 0.5, (hidden, neighbours * channels)), "w_out": w_out,
                      "b_out": rng.normal(0, 0.3, len(w_out)), "w_mid": rng.normal(0, 0.5, (residual, hidden, hidden)),
                      "b_mid": rng.normal(0, 0.3, (residual, hidden))}
