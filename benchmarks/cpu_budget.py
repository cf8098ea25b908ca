"""What compressing a lone photograph with `--jobs 2` asks of the CPU, part by part, and what a narrower
per-pixel head would take off.

    python benchmarks/cpu_budget.py [--head-widths 48 32] [--repeats 3] [--json]

With two jobs the model path's two bands and the classical records (bbvae/codecs/photos.py) share the cores,
so a compression cannot take less wall time than its CPU time over the number of cores. For each benchmark
photograph (scikit-image's astronaut, coffee and camera, as bbvae ships them) and a synthetic 512x512
screenshot (flat boxes and strokes like text: an image that the model path cannot win, and stops early on),
in one process, the best of `--repeats` runs of: bbvae.compress with `--jobs 2`, with and without its check
decode, then the model path alone in two bands, the classical records alone (as made beside it,
bbvae/codecs/classical.py), and the WebP record alone; each with its wall and CPU seconds (the process's, every
thread's). `--head-widths`: the same rows for the default model with its per-pixel head cut to its first N
hidden units (a what-if for the time a narrower head would take: such a model is untrained, so its sizes mean
nothing and its file may take another path). Results: benchmarks/results/cpu_budget.{json,md}.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from bbvae.models.defaults import PHOTO_MODEL

PHOTOS = ("astronaut.png", "coffee.png", "camera.png")


def main():
    import bbvae
    from bbvae.bench.report import publish
    from bbvae.codecs import classical, photos
    from bbvae.datasets.photos import TEST_PHOTOS, load_shipped
    from bbvae.models.modelfile import resolve

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--head-widths", type=int, nargs="*", default=[], help="also time the head cut to these widths")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    shipped = load_shipped("test")
    images = {name: shipped[TEST_PHOTOS.index(name)] for name in PHOTOS} | {"screenshot 512x512": screenshot(512)}
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        models = {f"{PHOTO_MODEL}": str(resolve(PHOTO_MODEL))}
        models.update({f"{PHOTO_MODEL}, head cut to {width}": narrowed_head(width, Path(folder)) for width in args.head_widths})
        for name, image in images.items():
            parts = {"classical records alone": lambda: classical.encodings(image),
                     "WebP record alone": lambda: classical.encode_webp(image)}
            for model, path in models.items():
                parts |= {
                    f"compress, {model}": lambda path=path: bbvae.compress([image], path, jobs=2),
                    f"compress without check, {model}": lambda path=path: bbvae.compress([image], path, jobs=2, verify=False),
                    f"model path alone in 2 bands, {model}": lambda path=path: photos.model_record(image, path, threads=2)}
            for part, run in parts.items():
                wall, cpu = best_wall_and_cpu(run, args.repeats)
                rows.append({"image": name, "part": part, "wall_s": wall, "cpu_s": cpu, "least_wall_on_2_cores_s": cpu / 2})
    summary = {row["image"] + ": " + row["part"]: round(row["cpu_s"], 3) for row in rows}
    publish("cpu_budget", summary, rows, args.json)


def screenshot(side: int) -> np.ndarray:
    """A light grey desktop with flat coloured boxes and rows of dark strokes, the same on every run."""
    rng = np.random.default_rng(0)
    image = np.full((side, side, 3), 240, np.uint8)
    for _ in range(side // 8):
        top, left = rng.integers(0, side - 40), rng.integers(0, side - 80)
        image[top:top + rng.integers(20, 200), left:left + rng.integers(40, 300)] = rng.integers(0, 256, 3)
    for _ in range(side):
        top, left = rng.integers(0, side - 10), rng.integers(0, side - 60)
        image[top:top + 8, left:left + 60:3] = 20
    return image


def best_wall_and_cpu(run, repeats: int) -> tuple[float, float]:
    """The fastest of `repeats` runs after one untimed: its wall seconds and the process's CPU seconds in it."""
    run()
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        cpu, wall = process_cpu(), time.perf_counter()
        run()
        best = min(best, (time.perf_counter() - wall, process_cpu() - cpu))
    return best


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def narrowed_head(width: int, folder: Path) -> str:
    """The default photo model with its per-pixel head cut to its first `width` hidden units, as a model file."""
    from bbvae.models.modelfile import load_model, save_model

    model, info = load_model(PHOTO_MODEL)
    narrow = type(model)(dataclasses.replace(model.cfg, local_hidden=width))
    full = model.state_dict()
    narrow.load_state_dict({name: full[name][tuple(slice(0, n) for n in tensor.shape)].clone()
                            for name, tensor in narrow.state_dict().items()})
    path = folder / f"head-{width}.safetensors"
    save_model(path, narrow, info.info, info.codec)
    return str(path)


if __name__ == "__main__":
    main()
