"""`bbvae bench` keeps its --json contract (a smoke run on a few digits; skipped without the bench extras)."""

from __future__ import annotations

import json

import pytest
from helpers import run_cli

CONTRACT = {"images", "coded_bpd", "elbo_bpd", "gap_pct", "single_file_mean_bytes", "jxl_e10_single_file_mean_bytes",
            "encode_images_per_s", "decode_images_per_s"}


def test_bench_json_contract(tmp_path):
    pytest.importorskip("imagecodecs")
    pytest.importorskip("zstandard")
    result = run_cli("bench", "--limit", "6", "--jobs", "1", "--json", env={"BBVAE_RESULTS": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert CONTRACT <= summary.keys() and summary["images"] == 6
    assert summary["coded_bpd"] > 0 and summary["single_file_mean_bytes"] > 0
    assert (tmp_path / "mnist_test_bench_6.json").exists() and (tmp_path / "mnist_test_bench_6.png").exists()


PHOTO_CONTRACT = {"images", "bbvae_bpd", "png_bpd", "webp_bpd", "jxl_e10_bpd", "encode_mpix_s", "decode_mpix_s"}


def test_bench_images_json_contract(tmp_path, photo_models):
    pytest.importorskip("imagecodecs")
    pytest.importorskip("zstandard")
    from helpers import ar_image
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(ar_image(20, 24, seed=1)).save(folder / "colour.png")
    Image.fromarray(ar_image(17, 9, seed=2)[:, :, 0]).save(folder / "grey.png")
    Image.new("P", (5, 5)).save(folder / "palette.png")  # skipped: palette images always take the classical path
    result = run_cli("bench", "--images", str(folder), "--jobs", "1", "--json",
                     env={"BBVAE_RESULTS": str(tmp_path), "BBVAE_MODELS": str(photo_models)})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert PHOTO_CONTRACT <= summary.keys() and summary["images"] == 2
    assert 0 < summary["bbvae_bpd"] <= min(summary["png_bpd"], summary["webp_bpd"]) + 1.0  # header of a small image
    record = json.loads((tmp_path / "photo_bench.json").read_text())
    assert {row["image"] for row in record["rows"]} == {"colour.png", "grey.png"}
    assert all(row["model_decode_s"] > 0 for row in record["rows"])  # the model path is timed even when it loses
    assert all(row["unshifted_bpd"] > 0 for row in record["rows"])  # the model as trained, beside the shifted path
    for chart in ("photo_bench.png", "photo_bench_rate_speed.png"):
        with Image.open(tmp_path / chart) as drawn:
            assert drawn.format == "PNG" and drawn.width >= 600
    assert all(row["png_encode_s"] > 0 and row["jxl_e7_encode_s"] > 0 for row in record["rows"])  # every peer timed
