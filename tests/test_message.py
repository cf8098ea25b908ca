"""The message: exact serialisation, exact size, and designed behaviour when bits run out."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from bbvae.coder import CoderError, Message, Uniform

from strategies import messages


@given(messages())
def test_serialisation_round_trip(message):
    data = message.to_bytes()
    assert len(data) * 8 == message.bits
    assert Message.from_bytes(data) == message


def test_popping_an_empty_message_borrows_zero_words_deterministically():
    first, a = Uniform(20, 10).pop(Message())
    second, b = Uniform(20, 10).pop(Message())
    np.testing.assert_array_equal(a, b)
    assert first == second
    assert first.borrowed_bits > 0 and first.borrowed_bits % 32 == 0
    restored = Uniform(20, 10).push(first, a)
    assert restored == Message() and restored.borrowed_bits == 0


@pytest.mark.parametrize("data", [
    b"", b"\x01", b"\x02\x01\x00" + bytes(8), b"\x01\x01\x00" + bytes(7),
    b"\x01\x01\x00" + bytes(8) + b"\x01\x02", b"\x01\x00\x00", b"\x01\x01\x00" + bytes(8),
    b"\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" + bytes(8),
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


def test_zero_bottom_word_in_debt_is_rejected():
    message, _ = Uniform(31, 3).pop(Message())
    data = bytearray(message.to_bytes()) + bytes(4)  # a zero word under a debt cannot occur
    with pytest.raises(CoderError):
        Message.from_bytes(bytes(data))
