"""Files decode on any machine: encode under one CPU arithmetic setting, decode under another.

Each side runs in a fresh process (tests/portable_case.py) with the instruction-set caps of
oneDNN, ATen and Numba, torch's thread count and the job count changed, so that the
decoder runs other kernels than the encoder did; every pixel is compared. The golden
files of tests/data/portable/ were made by `python tests/portable_case.py golden
tests/data/portable` and must decode, and be re-encoded, bit for bit on every machine.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bbvae import api
from bbvae.codecs.build import codec_for
from bbvae.format import container
from bbvae.models import arithmetic
from bbvae.models.modelfile import save_model

sys.path.insert(0, str(Path(__file__).parent))
import portable_case  # noqa: E402
from helpers import TINY, tiny_model  # noqa: E402

CASE = Path(__file__).parent / "portable_case.py"
GOLDEN = Path(__file__).parent / "data" / "portable"
FORMAT_3_PHOTOS = ("photo", "grey")  # golden photo files of format 3 (tests/data/portable/format3)
BEST_ATEN = torch.backends.cpu.get_cpu_capability().lower()  # e.g. avx512 or avx2: what this CPU runs by default
# each value the arithmetic may take is a decoder's setting; values of different knobs share a process
SETTINGS = {
    "default": {},
    "onednn-avx2+aten-avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"},
    "onednn-sse41+aten-default": {"ONEDNN_MAX_CPU_ISA": "SSE41", "ATEN_CPU_CAPABILITY": "default"},
    "aten-best+threads-2": {"ATEN_CPU_CAPABILITY": BEST_ATEN, "BBVAE_TEST_THREADS": "2"},
    "numba-generic": {"NUMBA_CPU_NAME": "generic"},
}
# the second encoder differs from the default in every respect at once, and codes the archive in two jobs
LOW = {"ONEDNN_MAX_CPU_ISA": "SSE41", "ATEN_CPU_CAPABILITY": "default", "NUMBA_CPU_NAME": "generic",
       "BBVAE_TEST_THREADS": "2"}


def _run(action: str, folder: Path, env: dict, jobs: int = 1) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in LOW}
    return subprocess.run([sys.executable, str(CASE), action, str(folder), "--jobs", str(jobs)],
                          env={**clean, **env}, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def mixture_model(tmp_path_factory) -> str:
    """A tiny model with a VampPrior (its mixture comes from the encoder on pseudo-inputs) and a mixture of three
    logistics per pixel (coder.MixtureDiscretizedLogistic)."""
    path = tmp_path_factory.mktemp("vamp") / "model.safetensors"
    save_model(path, tiny_model(3, dataclasses.replace(TINY, prior="vamp", prior_components=4, mixture=3)))
    return str(path)


@pytest.fixture(scope="module")
def encoded(tmp_path_factory, mixture_model) -> list[Path]:
    folders = []
    for name, env, jobs in (("default", {}, 1), ("low", LOW, 2)):
        folder = tmp_path_factory.mktemp(f"encoded-{name}")
        result = _run("encode", folder, {**env, "BBVAE_TEST_MIXTURE_MODEL": mixture_model}, jobs)
        assert result.returncode == 0, result.stderr[-2000:]
        folders.append(folder)
    return folders


def test_both_encoders_wrote_the_same_bytes(encoded, mixture_model):
    first, second = encoded
    for name in portable_case.cases(0, mixture_model):
        assert (first / f"{name}.bbv").read_bytes() == (second / f"{name}.bbv").read_bytes() or name == "archive"
    # the archive differs only in its segments (one job against two): each decodes everywhere (below)
    assert len(container.unpack((second / "archive.bbv").read_bytes()).segments) == 2


@pytest.mark.parametrize("number, setting", list(enumerate(sorted(SETTINGS))))
def test_decodes_under_other_arithmetic(encoded, mixture_model, number, setting):
    """Half the settings decode the default encoder's files, half the other's (the two are equal but for the
    archive's segments), each with one job or two."""
    env = {**SETTINGS[setting], "BBVAE_TEST_MIXTURE_MODEL": mixture_model}
    result = _run("decode", encoded[number % 2], env, jobs=1 + number // 2 % 2)
    assert result.returncode == 0, f"{setting}: {result.stdout}{result.stderr[-2000:]}"
    assert result.stdout.count("identical") == len(portable_case.cases(0, mixture_model))


@pytest.mark.parametrize("name", sorted(portable_case.cases(0)))
def test_golden_file_decodes_and_reencodes_bit_for_bit(name):
    images, options = portable_case.cases(portable_case.GOLDEN_ARCHIVE_DIGITS)[name]
    data = (GOLDEN / f"{name}.bbv").read_bytes()
    versions = {"described": container.IMAGE_INFO_VERSION, "bands": container.BANDS_VERSION,
                **dict.fromkeys(FORMAT_3_PHOTOS, container.PHOTO_CODING_VERSION)}
    assert data[3] == versions.get(name, container.PORTABLE_VERSION)
    assert api.describe_container(data)["portable"] and portable_case.on_model_path(data)
    restored = api.decompress(data)
    assert len(restored) == len(images) and all(np.array_equal(a, b) for a, b in zip(images, restored))
    assert restored.info == options.get("info", [{}] * len(images))
    box = container.unpack(data)
    made_by = api.find_model(box, options.get("model"))  # the shipped model, or one shipped before under its name
    again = container.unpack(api.compress(images, **{**options, "model": made_by}))
    assert container.pack(dataclasses.replace(again, model_name=box.model_name)) == data


@pytest.mark.parametrize("name", FORMAT_3_PHOTOS)
def test_format_3_photo_files_still_decode(name):
    """Photo files of the first portable release (format 3, whose header also stored a group size)."""
    images, _ = portable_case.cases(portable_case.GOLDEN_ARCHIVE_DIGITS)[name]
    data = (GOLDEN / "format3" / f"{name}.bbv").read_bytes()
    assert data[3] == container.PORTABLE_VERSION
    restored = api.decompress(data)
    assert len(restored) == len(images) and all(np.array_equal(a, b) for a, b in zip(images, restored))


def test_legacy_file_on_other_arithmetic_is_not_called_corrupt(monkeypatch):
    """An old file decoded by an arithmetic that differs from its encoder's (simulated: the float32
    decoder's outputs moved by a hair) is reported as such, never as a damaged file."""
    legacy = (Path(__file__).parent / "data" / "coffee_50x40_format1.bbv").read_bytes()
    assert not api.describe_container(legacy)["portable"]
    decode = arithmetic.TorchNetworks.decode
    monkeypatch.setattr(arithmetic.TorchNetworks, "decode", lambda self, latents: decode(self, latents) * (1 + 1e-6))
    codec_for.cache_clear()
    try:
        with pytest.raises(api.CompressionError, match="predates portable coding"):
            api.decompress(legacy)
    finally:
        codec_for.cache_clear()
