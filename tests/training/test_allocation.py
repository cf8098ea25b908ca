"""The first image's latent bit allocation: fitted, stored under the fingerprint, coded exactly."""

from __future__ import annotations

import numpy as np
import torch
from helpers import blob_images, image_folder, run_cli, tiny_model

import bbvae
from bbvae.codecs.images import VAECodec
from bbvae.models.modelfile import load_model, save_model
from bbvae.models.vae import ModelConfig
from bbvae.training import allocation

CFG = ModelConfig(height=8, width=8, hidden=8, blocks=1, latent=5)


def test_fit_gives_one_entry_per_latent_within_bounds():
    torch.manual_seed(0)
    table = allocation.fit(tiny_model(cfg=CFG), blob_images(40))
    assert table.shape == (CFG.latent,) and table.dtype == np.uint8
    assert table.max() <= allocation.MAX_BITS


def test_the_table_is_part_of_the_fingerprint(tmp_path):
    model = tiny_model(cfg=CFG)
    plain = save_model(tmp_path / "a.safetensors", model, {})
    tabled = save_model(tmp_path / "b.safetensors", model, {}, {allocation.TABLE_NAME: np.array([3, 0, 1, 2, 0], np.uint8)})
    assert plain != tabled
    _, info = load_model(tmp_path / "b.safetensors")
    np.testing.assert_array_equal(info.codec[allocation.TABLE_NAME], [3, 0, 1, 2, 0])


def test_images_decode_exactly_with_unused_and_coarse_dimensions(tmp_path):
    model = tiny_model(cfg=CFG)
    images = blob_images(7)
    for table in ([0, 0, 0, 0, 0], [3, 0, 1, 12, 0], [1, 1, 1, 1, 1]):
        codec = VAECodec(model, first_bits=np.array(table, np.uint8))
        message = codec.encode(images)
        np.testing.assert_array_equal(codec.decode(message, len(images)), images)
    folder = tmp_path / "m"
    save_model(folder / "model.safetensors", model, {}, {allocation.TABLE_NAME: np.array([2, 0, 5, 1, 0], np.uint8)})
    packed = bbvae.compress(images[:1, 0], model=folder)
    np.testing.assert_array_equal(bbvae.decompress(packed, model=folder)[0], images[0, 0])


def test_the_command_fits_a_local_model_on_its_own_training_data(tmp_path):
    """`bbvae allocate` feeds a local model its images with their context margins."""
    folder = image_folder(tmp_path / "images", count=30)
    local = ModelConfig(height=8, width=8, hidden=8, blocks=1, latent=5, mixture=2, local_hidden=8)
    save_model(tmp_path / "run" / "model.safetensors", tiny_model(cfg=local), {"dataset": str(folder)})
    result = run_cli("allocate", str(tmp_path / "run"), "--images", "20")
    assert result.returncode == 0, result.stderr[-2000:]
    _, info = load_model(tmp_path / "run")
    assert info.codec[allocation.TABLE_NAME].shape == (local.latent,)
    assert f"fingerprint {info.fingerprint}" in result.stdout
    missing = run_cli("allocate", str(tmp_path / "none"))
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1, missing.stderr
