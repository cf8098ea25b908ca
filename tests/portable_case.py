"""One side of a cross-machine round trip, run in a fresh process by tests/test_portable.py.

    python tests/portable_case.py encode DIR [--jobs N]   # compress the cases into DIR/*.bbv
    python tests/portable_case.py decode DIR [--jobs N]   # decompress DIR/*.bbv, compare every pixel
    python tests/portable_case.py golden DIR              # the golden files of tests/data/portable/

The caller sets the arithmetic's environment (ONEDNN_MAX_CPU_ISA, ATEN_CPU_CAPABILITY,
NUMBA_CPU_NAME); BBVAE_TEST_THREADS sets torch's thread count, BBVAE_TEST_MIXTURE_MODEL adds a case. Exit status 1 names the case that differs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(Path(__file__).parent))  # helpers
ARCHIVE_DIGITS = 520  # enough for two segments with --jobs 2 (parallel.MIN_IMAGES_PER_JOB)
GOLDEN_ARCHIVE_DIGITS = 40  # the checked-in archive stays small


PARTICLES_DIGITS = 160  # importance sampling starts at image particles x group size (bbvae/codecs/images.py)
BANDS_ROWS = 512  # 16 strips of the photo model: two bands (bbvae/codecs/bands.py)
DESCRIBED_INFO = {"icc_profile": bytes(range(256)) * 2, "dpi": (300.0, 300.0), "text": {"Comment": "golden"}}


def cases(archive: int = ARCHIVE_DIGITS, mixture_model: str | None = None) -> dict[str, tuple[list[np.ndarray], dict]]:
    """name -> the images of one .bbv file and the options of api.compress: a digit, an archive of digits, digits
    coded with two importance samples, an RGB and a grey photograph, the RGB one with metadata (format 5), a tall
    photograph in two bands (format 6, always two jobs); with mixture_model (a model file with a mixture prior,
    for 8x8 grey images), blobs coded with it."""
    from helpers import blob_images

    from bbvae.datasets import sources as data

    digits = data.load("mnist", "test")[:, 0]
    coffee = np.asarray(Image.open(DATA / "coffee_50x40.png").convert("RGB"))
    noise = np.random.default_rng(0).integers(-2, 3, (BANDS_ROWS, *coffee.shape[1:]))  # breaks the tiles' repeats
    tall = np.clip(np.concatenate([coffee, coffee[::-1]] * 7)[:BANDS_ROWS] + noise, 0, 255).astype(np.uint8)
    return {"digit": ([digits[0]], {}), "archive": (list(digits[:archive]), {}),
            "particles": (list(digits[-PARTICLES_DIGITS:]), {"particles": 2}), "photo": ([coffee], {}),
            "grey": ([np.ascontiguousarray(coffee[:, :, 1])], {}), "described": ([coffee], {"info": [DESCRIBED_INFO]}),
            "bands": ([tall], {"jobs": 2}),
            **({"mixture": (list(blob_images(40)[:, 0]), {"model": mixture_model})} if mixture_model else {})}


def on_model_path(data: bytes) -> bool:
    """Whether every image of a .bbv file was coded by the model (not stored as PNG or WebP)."""
    from bbvae import api

    paths = api.describe_container(data)["paths"]
    return paths is None or all(entry["path"] == "model" for entry in paths)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=("encode", "decode", "golden"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    import torch

    from bbvae import api

    torch.set_num_threads(int(os.environ.get("BBVAE_TEST_THREADS", "1")))
    archive = GOLDEN_ARCHIVE_DIGITS if args.action == "golden" else ARCHIVE_DIGITS
    for name, (images, options) in cases(archive, os.environ.get("BBVAE_TEST_MIXTURE_MODEL")).items():
        path = args.folder / f"{name}.bbv"
        if args.action in ("encode", "golden"):
            args.folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(api.compress(images, verify=False, **{"jobs": args.jobs, **options}))  # the decoders check
            continue
        try:
            restored = api.decompress(path.read_bytes(), options.get("model"), jobs=args.jobs)
        except Exception as exc:  # noqa: BLE001 - reported to the test as the case that failed
            print(f"{name}: {exc}")
            return 1
        if len(restored) != len(images) or any(not np.array_equal(a, b) for a, b in zip(images, restored)):
            print(f"{name}: decoded pixels differ")
            return 1
        if not on_model_path(path.read_bytes()):
            print(f"{name}: stored on a classical path, so the model's arithmetic was not tested")
            return 1
        print(f"{name}: {len(images)} image(s) identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
