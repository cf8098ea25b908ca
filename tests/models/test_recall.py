"""The check decode of compress(verify=True) takes the encoder's network results (bbvae/models/recall.py),
and still compares every pixel."""

import numpy as np
import pytest
from helpers import ar_image

import bbvae
from bbvae.codecs.patches import PatchCodec
from bbvae.coder import kernels
from bbvae.coder.local import LocalMixture
from bbvae.datasets.sources import load
from bbvae.models import recall
from bbvae.models.defaults import PHOTO_MODEL
from bbvae.models.fixed_point import FixedPointVAE
from bbvae.models.recall import RecallingMixture


@pytest.fixture
def network_calls(monkeypatch):
    """Counts the portable networks' computations (the encoder's and the decoder's)."""
    calls = {"posterior": 0, "decode": 0}
    for name in calls:
        original = getattr(FixedPointVAE, name)

        def counted(self, inputs, _original=original, _name=name):
            calls[_name] += 1
            return _original(self, inputs)
        monkeypatch.setattr(FixedPointVAE, name, counted)
    return calls


def _calls_of(network_calls, operation) -> dict:
    before = dict(network_calls)
    result = operation()
    return result, {name: network_calls[name] - before[name] for name in network_calls}


def test_the_check_decode_of_a_digit_computes_no_network(network_calls):
    digit = load("mnist", "test")[:1].reshape(28, 28)
    plain, unchecked = _calls_of(network_calls, lambda: bbvae.compress(digit, verify=False))
    checked, with_check = _calls_of(network_calls, lambda: bbvae.compress(digit))
    assert checked == plain
    assert with_check == unchecked and sum(unchecked.values()) > 0
    _, alone = _calls_of(network_calls, lambda: bbvae.decompress(checked))
    assert sum(alone.values()) > 0  # a decompression on its own computes them


def test_the_check_decode_of_a_photograph_computes_no_network(photo_env, network_calls):
    image = ar_image(24, 24, seed=10)  # the tiny model's patches: several strips, on the model path
    plain, unchecked = _calls_of(network_calls, lambda: bbvae.compress([image], PHOTO_MODEL, verify=False))
    checked, with_check = _calls_of(network_calls, lambda: bbvae.compress([image], PHOTO_MODEL))
    assert checked == plain and bbvae.describe(checked)["paths"][0]["path"] == "model"
    assert with_check == unchecked
    np.testing.assert_array_equal(bbvae.decompress(checked)[0], image)


def test_verification_still_decodes_every_pixel(photo_env, monkeypatch):
    """One wrong pixel per strip in the check decode: the networks then see other inputs, and decoding fails."""
    pop = RecallingMixture.pop

    def one_wrong_pixel(self, message):  # pop writes the pixels into the context the image is read from
        message, values = pop(self, message)
        (y, x), channel = self.positions[-1] + kernels.LOCAL_CONTEXT, self.channels[-1]
        self.context[y, x, channel] ^= 1
        return message, values
    monkeypatch.setattr(RecallingMixture, "pop", one_wrong_pixel)
    with pytest.raises(bbvae.CompressionError, match="verification failed: the new file does not decode"):
        bbvae.compress([ar_image(24, 24, seed=10)], PHOTO_MODEL)


@pytest.fixture
def head_runs(monkeypatch):
    """Counts the per-pixel head's pixel-by-pixel pops (a decoder's) and the pops with kept mixtures (a check's)."""
    runs = {"head": 0, "kept": 0}
    pop, kept = LocalMixture.pop, LocalMixture.pop_expected

    def counted(self, message):
        runs["head"] += 1
        return pop(self, message)

    def counted_kept(self, message, params, expected):
        runs["kept"] += 1
        return kept(self, message, params, expected)
    monkeypatch.setattr(LocalMixture, "pop", counted)
    monkeypatch.setattr(LocalMixture, "pop_expected", counted_kept)
    return runs


@pytest.mark.parametrize("what", ["digits", "photograph"])
def test_the_check_decode_takes_the_encoders_mixtures(request, head_runs, what):
    if what == "digits":
        images, model = load("mnist", "test")[:20].reshape(-1, 28, 28), None
    else:
        request.getfixturevalue("photo_env")  # the tiny photo model
        images, model = [ar_image(24, 24, seed=10)], PHOTO_MODEL
    data = bbvae.compress(images, model)
    assert head_runs["head"] == 0 and head_runs["kept"] > 0
    kept = head_runs["kept"]
    decoded = bbvae.decompress(data)  # a decompression on its own runs the head
    assert head_runs["head"] == kept and head_runs["kept"] == kept
    for image, restored in zip(images, decoded):
        np.testing.assert_array_equal(restored, image)


def test_a_failed_check_with_kept_mixtures_is_run_again_without_them(photo_env, monkeypatch, head_runs):
    """Kept results under a fingerprint that matched by accident (another strip's values, ranges and mixtures) pop
    wrong pixels: compress checks once more on its own."""
    popped = LocalMixture.pop_expected

    def wrong_results(self, message, params, expected):
        symbols, starts, freqs = expected
        return popped(self, message, {**params, "b": params["b"] + 3.0}, (symbols ^ 1, starts, freqs))
    monkeypatch.setattr(LocalMixture, "pop_expected", wrong_results)
    image = ar_image(24, 24, seed=10)
    data = bbvae.compress([image], PHOTO_MODEL)
    assert head_runs["head"] > 0  # the second check ran the head
    np.testing.assert_array_equal(bbvae.decompress(data)[0], image)


def test_verification_still_compares_every_decoded_pixel(photo_env, monkeypatch):
    """One wrong pixel in the decoded image: its checksum fails."""
    decode = PatchCodec.decode

    def one_wrong_pixel(*args, **kwargs):
        image = decode(*args, **kwargs)
        image[-1, -1, -1] ^= 1
        return image
    monkeypatch.setattr(PatchCodec, "decode", one_wrong_pixel)
    with pytest.raises(bbvae.CompressionError, match="verification failed: .*checksum"):
        bbvae.compress([ar_image(24, 24, seed=10)], PHOTO_MODEL)


def test_kept_results_are_copies_given_once_and_newest_kept_first():
    first, second = np.arange(4.0), np.arange(4.0) + 1
    computed = []

    def network(inputs):
        computed.append(inputs.copy())
        return inputs * 2, inputs * 3

    with recall.remembering(budget=first.nbytes * 2 * 4) as kept:  # room for four results of two arrays
        doubled, _ = recall.recalled(None, "net", first, network)
        doubled[:] = -1  # the caller's array is not the kept one
        recall.recalled(None, "net", second, network)
        for more in (2, 3, 4):
            recall.recalled(None, "net", first + more, network)  # the fifth result is over budget: `first`'s goes
        again, tripled = recall.recalled(None, "net", second, network)
        np.testing.assert_array_equal(again, second * 2)
        np.testing.assert_array_equal(tripled, second * 3)
        recall.recalled(None, "net", second, network)  # given out once: computed again
        recall.recalled(None, "net", first, network)
        recall.recalled(None, "other", first + 2, network)  # another network's results are apart
        assert kept.recalled == 1
    assert len(computed) == 8
    recall.recalled(None, "net", first, network)  # outside the block nothing is kept
    recall.recalled(None, "net", first, network)
    assert len(computed) == 10


def test_a_result_over_a_quarter_of_the_budget_is_not_kept():
    inputs = np.arange(4.0)
    computed = []

    def network(values):
        computed.append(values.copy())
        return values * 2

    for budget, kept_times in ((inputs.nbytes * 4, 1), (inputs.nbytes * 4 - 1, 0)):
        with recall.remembering(budget=budget) as kept:
            recall.recalled(None, "net", inputs, network)
            recall.recalled(None, "net", inputs, network)
            assert kept.recalled == kept_times
