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
