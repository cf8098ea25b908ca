"""Photo codecs side by side: compress and decompress time of one photograph under each model.

    python benchmarks/photo_models.py [--models photo photo-strong] [--rounds 3] [--json]

scikit-image's astronaut (512x512 RGB), one job, no check decode. The models take turns, round after
round, and each keeps its fastest compress and decompress, so that the machine's drift (20-40% within
minutes here) falls on every model alike; the decoded pixels are compared with the input.
Results: benchmarks/results/photo_models.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from bbvae.bench.report import markdown_table, write_results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["photo", "photo-strong"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line at the end")
    args = parser.parse_args()

    import skimage.data

    import bbvae

    photo = skimage.data.astronaut()
    best = {model: {"model": model, "compress_s": float("inf"), "decompress_s": float("inf")} for model in args.models}
    for model in args.models:  # compiles and loads everything once
        bbvae.decompress(bbvae.compress(photo, model, verify=False))
    for _ in range(args.rounds):
        for model in args.models:
            began = time.perf_counter()
            data = bbvae.compress(photo, model, verify=False)
            compressed = time.perf_counter()
            restored = bbvae.decompress(data)[0]
            row = best[model]
            row["compress_s"] = min(row["compress_s"], compressed - began)
            row["decompress_s"] = min(row["decompress_s"], time.perf_counter() - compressed)
            row["bytes"], row["exact"] = len(data), bool(np.array_equal(restored, photo))
    rows = list(best.values())
    first = rows[0]
    for row in rows:
        row["compress_vs_first"] = row["compress_s"] / first["compress_s"]
        row["decompress_vs_first"] = row["decompress_s"] / first["decompress_s"]
    summary = {"image": "astronaut 512x512", "rounds": args.rounds, "models": args.models, "bbvae": bbvae.__version__}
    table = markdown_table(rows, list(rows[0]))
    path = write_results("photo_models", summary, rows, table)
    print(table)
    print(f"\nresults written to {path}")
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
