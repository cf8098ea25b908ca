"""Whole images under the local mixture (bbvae/models/likelihoods/local_images.py): each image in its own margins, stacked.

Random head weights and features, random images and messages: exact round trips, a
rate equal to the codec's own information content, and no image reads another's pixels.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import messages, random_parts, rngs

from bbvae.coder import Message
from bbvae.coder.kernels import LOCAL_NEIGHBOURS
from bbvae.models.likelihoods.local_images import LocalImages
from bbvae.models.vae import MAX_LOCAL_LAYERS


def random_codec(rng, count, channels, height, width, mixture) -> LocalImages:
    return LocalImages(*random_parts(rng, count, channels, height, width, mixture), mixture, channels, 24)


@settings(max_examples=30, deadline=None)
@given(messages(), rngs(), st.integers(1, 4), st.sampled_from([1, 3]), st.integers(1, 6), st.integers(1, 6),
       st.integers(1, 3))
def test_push_then_pop_restores_images_and_message(message, rng, count, channels, height, width, mixture):
    codec = random_codec(rng, count, channels, height, width, mixture)
    images = rng.integers(0, 256, (count, channels, height, width)).astype(np.uint8)
    before, start = message.copy(), message.bits
    message = codec.push(message, images)
    slack = 32 * (before.lanes + 1)  # each lane's state absorbs up to a word before the message grows
    assert abs((message.bits - start) - codec.information_bits(images)) < slack + 0.01 * codec.information_bits(images)
    message, decoded = codec.pop(message)
    np.testing.assert_array_equal(decoded, images)
    assert message == before


@settings(max_examples=10, deadline=None)
@given(rngs())
def test_an_image_is_coded_the_same_alone_or_after_another(rng):
    """Stacking never lets an image's neighbours reach into the image above it."""
    features, head = random_parts(rng, 2, 1, 5, 4, 2)
    both, alone = LocalImages(features, head, 2, 1, 24), LocalImages(features[1:], head, 2, 1, 24)
    images = rng.integers(0, 256, (2, 1, 5, 4)).astype(np.uint8)
    np.testing.assert_array_equal(both.element_bits(images)[1:], alone.element_bits(images[1:]))


def test_pop_then_push_restores_any_message():
    rng = np.random.default_rng(3)
    codec = random_codec(rng, 2, 3, 4, 5, 2)
    message = Message()
    message, images = codec.pop(message)
    assert images.shape == (2, 3, 4, 5) and images.dtype == np.uint8
    assert codec.push(message, images) == Message()


@settings(max_examples=12, deadline=None)
@given(rngs(), st.sampled_from([1, 3]), st.integers(1, len(LOCAL_NEIGHBOURS)), st.integers(1, 3),
       st.integers(1, MAX_LOCAL_LAYERS))
def test_the_coder_charges_what_the_trained_head_computes(rng, channels, neighbours, mixture, layers):
    """Torch's LocalHead (training) and the Numba kernels (coding) give each value the same probability,
    for every neighbour count and number of layers a model may have."""
    import torch

    from bbvae.models.context import images_with_context
    from bbvae.models.likelihoods.local_mixture import LocalHead

    hidden, count, height, width = 6, 2, 5, 6
    head = LocalHead(channels, mixture, hidden, neighbours, layers).double()
    with torch.no_grad():
        for name, parameter in head.named_parameters():
            std = 0.5 if name.startswith("middle") else 0.1  # residual layers strong enough to matter
            parameter.normal_(0.0, std, generator=torch.Generator().manual_seed(int(rng.integers(1 << 30))))
    features = rng.normal(0, 1, (count, hidden, height, width))
    images = rng.integers(100, 156, (count, channels, height, width)).astype(np.uint8)  # near the heads' means
    with torch.no_grad():
        nats = -head.log_prob(torch.from_numpy(images_with_context(images)).double(), torch.from_numpy(features))
    exact = nats.numpy() / np.log(2)
    coded = LocalImages(features, head.coding_weights(), mixture, channels, 24).element_bits(images)
    # The coder's counts (kernels._quantised): every value keeps one of the 2^24, and the CDF shares the
    # others, floored at both ends of a value's range, so a value of probability p gets more than
    # p (2^24 - 256) counts and fewer than that plus two: about 1e-5 bits apart at 6 bits, 0.011 at 16, and a
    # misread neighbour costs whole bits.
    spare = 1 - 256 / (1 << 24)
    gap = coded - exact
    assert np.all(gap <= -np.log2(spare) + 1e-9)
    assert np.all(gap >= -np.log2(spare + 2 * 2.0 ** exact / (1 << 24)) - 1e-9)
