"""The message: exact serialisation, exact size, and designed behaviour when bits run out."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from strategies import messages

from bbvae.coder import CoderError, LatentBins, Message, Uniform, kernels


@given(messages())
def test_serialisation_round_trip(message):
    data = message.to_bytes()
    assert len(data) * 8 == message.bits
    assert Message.from_bytes(data) == message


def test_popping_an_empty_message_borrows_designed_words_deterministically():
    first, a = Uniform(20, 10).pop(Message())
    second, b = Uniform(20, 10).pop(Message())
    np.testing.assert_array_equal(a, b)
    assert first == second
    assert first.borrowed_bits > 0 and first.borrowed_bits % 32 == 0
    restored = Uniform(20, 10).push(first, a)
    assert restored == Message() and restored.borrowed_bits == 0


@pytest.mark.parametrize("data", [
    b"", b"\x01", b"\x01\x00" + bytes(7), b"\x01\x00" + bytes(8) + b"\x01\x02", b"\x00\x00",
    b"\x01\x00" + bytes(8), b"\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" + bytes(8),
    b"\xff\x7f\x00" + bytes(8),
    b"\x01\xff\xff\xff\xff\xff\xff\xff\xff\x7f" + (1 << 62).to_bytes(8, "little") + b"\x01\x00\x00\x00",  # huge debt
])
def test_corrupt_messages_are_rejected(data):
    with pytest.raises(CoderError):
        Message.from_bytes(data)


def test_truncated_message_is_rejected():
    message = Uniform(16, 100).push(Message(), np.arange(100))
    data = message.to_bytes()
    for cut in (1, 2, 3, 5):
        with pytest.raises(CoderError):
            Message.from_bytes(data[:-cut])


def test_bottom_word_that_would_repay_the_debt_is_rejected():
    message, _ = Uniform(31, 3).pop(Message())
    expected = int(kernels.virtual_word(message.debt - 1)).to_bytes(4, "little")
    with pytest.raises(CoderError):  # such a word is never left on the stack while in debt
        Message.from_bytes(message.to_bytes() + expected)


def test_latents_popped_from_an_empty_message_are_spread_over_the_posterior():
    """The words below the message look random: the first pops are not stuck in the lowest bin."""
    bins = LatentBins(10)
    _, indices = bins.posterior(np.zeros(64), np.ones(64), 20).pop(Message())
    assert 300 < np.median(indices) < 724 and indices.min() > 0 and len(set(indices)) > 40


def test_lanes_of_an_empty_message_start_apart():
    states = Message(4).states
    assert len(set(states.tolist())) == 4
