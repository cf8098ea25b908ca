"""Habits of gzip, zstd and cjxl that users expect of `bbvae`: `bbvae test`, `--version`, JSON alone on
stdout, a closed pipe ending quietly; and model files with NaN weights refused in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from helpers import TINY, run_cli, tiny_model
from PIL import Image

import bbvae
from bbvae.models.modelfile import save_model

PORTABLE = Path(__file__).parent.parent / "data" / "portable"


def test_test_checks_every_file_and_writes_nothing(tmp_path):
    good = sorted(PORTABLE.glob("*.bbv"))
    damaged = tmp_path / "damaged.bbv"
    damaged.write_bytes(good[0].read_bytes()[:-3])
    result = run_cli("test", *map(str, good), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": OK") == len(good)
    result = run_cli("test", str(good[0]), str(damaged), str(tmp_path / "missing.bbv"), cwd=tmp_path)
    assert result.returncode == 1
    assert f"{damaged}: FAILED: the file is corrupt or truncated" in result.stderr
    assert "missing.bbv: FAILED: no such file" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.bbv"]


def test_version_names_what_decoding_depends_on():
    result = run_cli("--version")
    assert result.returncode == 0
    for part in (f"bbvae {bbvae.__version__}", "arithmetic: portable fixed-point", f"torch {torch.__version__}",
                 "numba ", "numpy "):
        assert part in result.stdout


def test_json_is_alone_on_stdout():
    result = run_cli("info", "--json", str(PORTABLE / "photo.bbv"))
    assert result.returncode == 0 and json.loads(result.stdout)["portable"] is True
    assert "stored with the model" in result.stderr
    models = run_cli("models", "--json")
    assert {row["name"] for row in json.loads(models.stdout)} >= {"mnist-tiny", "mnist-fast", "mnist-small", "mnist-local", "photo", "photo-fast"}


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`bbvae info many.bbv | head -1`: more lines than a pipe holds, and the reader leaves after one."""
    palette = Image.fromarray(np.arange(16, dtype=np.uint8).reshape(4, 4)).convert("P")
    path = tmp_path / "many.bbv"
    path.write_bytes(bbvae.compress([palette] * 1500, verify=False))  # 1500 lines of `info`, over 64 KB
    process = subprocess.Popen([sys.executable, "-m", "bbvae.cli.main", "info", str(path)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1 and stderr == ""  # click's EPIPE rule: nothing printed, status 1


def test_a_model_with_nan_weights_is_refused_in_one_line(tmp_path):
    model = tiny_model(0, TINY)
    with torch.no_grad():
        model.decoder.head.weight[0, 0] = float("nan")
    save_model(tmp_path / "nan" / "model.safetensors", model)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "blank.png")
    for args in (("compress", str(tmp_path / "blank.png"), "--model", str(tmp_path / "nan")),
                 ("eval", "--model", str(tmp_path / "nan"), "--dataset", "mnist", "--limit", "2", "--json")):
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 1 and result.stdout == ""
        assert "NaN or infinite" in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_train_prior_choices_are_the_registry_s():
    from bbvae.cli.main import TRAIN_PRIORS
    from bbvae.models.priors import PRIORS

    assert TRAIN_PRIORS == [name for name, prior in PRIORS.items() if prior.train_option]


def test_the_effort_knob_takes_cjxl_s_short_flag_and_refuses_other_levels(tmp_path):
    pixels = np.random.default_rng(5).integers(0, 256, (12, 12, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "x.png")
    quick = run_cli("compress", "-e", "1", "-q", "x.png", cwd=tmp_path)
    assert quick.returncode == 0, quick.stderr
    assert np.array_equal(bbvae.decompress((tmp_path / "x.png.bbv").read_bytes())[0], pixels)
    refused = run_cli("compress", "--effort", "4", "x.png", "-o", "y.bbv", cwd=tmp_path)
    assert refused.returncode == 2 and "4 is not in the range 1<=x<=3" in refused.stderr and not (tmp_path / "y.bbv").exists()


def test_shell_completion_offers_file_names_for_every_file_argument():
    for command in ("compress", "decompress", "test", "info"):
        completed = subprocess.run([sys.executable, "-m", "bbvae.cli.main"], capture_output=True, text=True,
                                   env={**os.environ, "_BBVAE_COMPLETE": "bash_complete",
                                        "COMP_WORDS": f"bbvae {command} x", "COMP_CWORD": "2"})
        assert completed.stdout.splitlines()[:1] == ["file,x"], (command, completed.stdout, completed.stderr)
