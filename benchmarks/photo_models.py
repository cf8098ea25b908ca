"""Photo codecs side by side: compress and decompress time and size of photographs under each model.

    python benchmarks/photo_models.py [--models photo-fast photo photo-strong] [--images FOLDER] [--rounds 3] [--json]

scikit-image's astronaut (512x512 RGB), or every image of FOLDER (for example the validation split of
`bbvae photoset`, to choose between models), one job, no check decode. The models take turns, round after
round, and each keeps its fastest compress and decompress of all the photographs, so that the machine's drift
(20-40% within minutes here) falls on every model alike; the decoded pixels are compared with the input.
Models may be given by path (a run's best.safetensors). Results: benchmarks/results/photo_models.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from bbvae.bench.report import markdown_table, write_results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["photo-fast", "photo", "photo-strong"])
    parser.add_argument("--images", help="a folder of photographs instead of astronaut")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line at the end")
    args = parser.parse_args()

    import bbvae

    names, photos = _photos(args.images)
    best = {model: {"model": model, "compress_s": float("inf"), "decompress_s": float("inf")} for model in args.models}
    for model in args.models:  # compiles and loads everything once
        bbvae.decompress(bbvae.compress(photos[0], model, verify=False), model)
    for _ in range(args.rounds):
        for model in args.models:
            files, exact, began = [], True, time.perf_counter()
            for photo in photos:
                files.append(bbvae.compress(photo, model, verify=False))
            compressed = time.perf_counter()
            for photo, data in zip(photos, files):
                exact &= bool(np.array_equal(bbvae.decompress(data, model)[0], photo))  # a model given by its path too
            row = best[model]
            row["compress_s"] = min(row["compress_s"], compressed - began)
            row["decompress_s"] = min(row["decompress_s"], time.perf_counter() - compressed)
            row["bytes"], row["exact"] = sum(len(data) for data in files), exact
            row["bits_per_dim"] = 8 * row["bytes"] / sum(photo.size for photo in photos)
    rows = list(best.values())
    first = rows[0]
    for row in rows:
        row["compress_vs_first"] = row["compress_s"] / first["compress_s"]
        row["decompress_vs_first"] = row["decompress_s"] / first["decompress_s"]
    summary = {"images": names, "rounds": args.rounds, "models": args.models, "bbvae": bbvae.__version__}
    table = markdown_table(rows, list(rows[0]))
    path = write_results("photo_models", summary, rows, table)
    print(table)
    print(f"\nresults written to {path}")
    if args.json:
        print(json.dumps(summary))


def _photos(folder: str | None) -> tuple[list[str], list[np.ndarray]]:
    """(names, pixels): astronaut, or the images of a folder in name order."""
    if folder is None:
        import skimage.data

        return ["astronaut 512x512"], [skimage.data.astronaut()]
    from pathlib import Path

    from bbvae.io.images import read_image

    paths = sorted(path for path in Path(folder).iterdir() if path.is_file())
    return [path.name for path in paths], [read_image(path) for path in paths]


if __name__ == "__main__":
    main()
