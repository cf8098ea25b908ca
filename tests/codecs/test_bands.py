"""A lone photograph in bands coded side by side (bbvae/codecs/bands.py): the bands tile the image, decode to
the same pixels in any number of threads, and damaged band tables are refused."""

import numpy as np
import pytest
from helpers import ar_image, with_fixed_crc
from hypothesis import given
from hypothesis import strategies as st

import bbvae
from bbvae import api
from bbvae.codecs import bands
from bbvae.format import container
from bbvae.models.defaults import PHOTO_MODEL
from bbvae.models.fixed_point import FixedPointVAE

PATCH = 8  # the tiny photo model's


@given(st.integers(1, 2000), st.sampled_from([8, 16, 32]), st.integers(1, 8))
def test_bands_are_whole_strips_that_tile_the_height(height, patch, wanted):
    rows = bands.band_rows(height, patch, wanted)
    strips = -(-height // patch)
    assert sum(rows) == height and all(r % patch == 0 for r in rows[:-1]) and rows[-1] > 0
    assert len(rows) <= wanted and (len(rows) == 1 or min(-(-r // patch) for r in rows) >= bands.MIN_BAND_STRIPS)
    assert len(rows) == max(1, min(wanted, strips // bands.MIN_BAND_STRIPS))  # as many as allowed
    assert max(rows) - min(rows[:-1] or rows) <= patch  # even


@pytest.fixture(scope="module")
def tall():
    strips = 2 * bands.MIN_BAND_STRIPS + 1  # the tiny model's: two bands, the second with a short last strip
    return ar_image(strips * PATCH - 3, 24, seed=10)


def test_a_lone_photograph_with_jobs_is_in_bands_and_decodes_in_any_threads(photo_env, tall):
    one = bbvae.compress([tall], PHOTO_MODEL, jobs=1)
    two = bbvae.compress([tall], PHOTO_MODEL, jobs=2)
    facts = api.describe_container(two)
    assert facts["paths"][0]["path"] == "model" and facts["paths"][0]["bands"] == 2 and facts["format_version"] == 6
    assert api.describe_container(one)["paths"][0]["bands"] == 1 and api.describe_container(one)["format_version"] < 6
    for jobs in (1, 2, 3):
        np.testing.assert_array_equal(bbvae.decompress(two, jobs=jobs)[0], tall)
    np.testing.assert_array_equal(bbvae.decompress(one, jobs=2)[0], tall)


def test_grey_photographs_and_alpha_in_bands(photo_env, tall):
    for image in (np.ascontiguousarray(tall[:, :, 0]), np.dstack([tall, np.full(tall.shape[:2], 7, np.uint8)])):
        data = bbvae.compress([image], PHOTO_MODEL, jobs=2)
        assert api.describe_container(data)["paths"][0]["bands"] == 2
        np.testing.assert_array_equal(bbvae.decompress(data, jobs=2)[0], image)


def test_the_check_decode_of_bands_reuses_their_network_results(photo_env, tall, monkeypatch):
    """Each band's thread sees the compress call's kept results (bbvae/models/recall.py)."""
    calls = []
    decode = FixedPointVAE.decode
    monkeypatch.setattr(FixedPointVAE, "decode", lambda self, latents: calls.append(1) or decode(self, latents))
    bbvae.compress([tall], PHOTO_MODEL, jobs=2, verify=False)
    unchecked = len(calls)
    bbvae.compress([tall], PHOTO_MODEL, jobs=2)
    assert len(calls) == 2 * unchecked > 0


def _banded_record(photo_env, tall) -> tuple[bytes, container.PhotoRecord]:
    data = bbvae.compress([tall], PHOTO_MODEL, jobs=2)
    return data, container.unpack(data).records()[0]


@pytest.mark.parametrize("damage", ["one band", "rows short", "rows not strips", "lengths", "truncated"])
def test_damaged_band_tables_are_refused(photo_env, tall, damage):
    _, record = _banded_record(photo_env, tall)
    (top, first), (bottom, second) = bands.unpack(record.body, len(tall), PATCH)
    body = {"one band": bytes([1]) + record.body[1:],
            "rows short": bands.pack([top, bottom - 1], [first, second]),
            "rows not strips": bands.pack([top - 1, bottom + 1], [first, second]),
            "lengths": bands.pack([top, bottom], [first, second])[:-1],
            "truncated": record.body[:2]}[damage]
    with pytest.raises(container.ContainerError, match="banded record"):
        bands.unpack(body, len(tall), PATCH)


def test_a_file_of_an_older_version_may_not_hold_bands(photo_env, tall):
    data, _ = _banded_record(photo_env, tall)
    older = with_fixed_crc(data[:3] + bytes([container.BANDS_VERSION - 1]) + data[4:])
    with pytest.raises(container.ContainerError, match="bands in a file of format version 5"):
        container.unpack(older)


def test_bands_on_a_classical_path_are_refused():
    record = container.PhotoRecord("RGB", "png", b"\x89PNG").to_bytes()
    with pytest.raises(container.ContainerError, match="bands on a classical path"):
        container.PhotoRecord.from_bytes(record[:1] + bytes([record[1] | container.PATH_BANDS]) + record[2:], 3)
