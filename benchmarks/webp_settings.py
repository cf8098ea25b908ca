"""Lossless WebP's size and encoding time per libwebp setting (method, quality) on a folder of photographs.

    python benchmarks/webp_settings.py FOLDER [--json]

The WebP record is bbvae's classical fallback, made beside the model path of every photograph, so its time
is part of every compression and its size counts wherever WebP wins. This run chose the settings of each
`--effort` level (bbvae/codecs/effort.py): run it on validation photographs (`bbvae photoset OUT` writes
OUT/validation), not on the test set. One process, one thread, each photograph encoded once per setting;
bytes and seconds are totals over the folder, and each setting's ratios are against the strongest row.
Results: benchmarks/results/webp_settings.{json,md}.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bbvae.bench.report import publish
from bbvae.codecs.effort import EFFORTS
from bbvae.datasets.sources import folder_files
from bbvae.io.images import encode_webp, read_image

SETTINGS = [(6, 100), (5, 100), (5, 95), (5, 90), (5, 75), (4, 100), (4, 75), (3, 100), (3, 75), (2, 100), (2, 75),
            (1, 75)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--json", action="store_true", help="also print the summary as one JSON line")
    args = parser.parse_args()
    photos = [read_image(path) for path in folder_files(str(args.folder))]
    encode_webp(photos[0][:16, :16], 0)  # the codec's first call out of the timings
    levels = {(e.webp_method, e.webp_quality): level for level, e in EFFORTS.items()}
    rows = []
    for method, quality in SETTINGS:
        began, size = time.perf_counter(), 0
        for image in photos:
            size += len(encode_webp(image, method, quality))
        rows.append({"method": method, "quality": quality, "bytes": size, "seconds": time.perf_counter() - began,
                     "effort_level": levels.get((method, quality))})
    strongest = min(rows, key=lambda row: row["bytes"])
    for row in rows:
        row["bytes_vs_strongest_pct"] = 100 * (row["bytes"] / strongest["bytes"] - 1)
        row["time_vs_strongest"] = row["seconds"] / strongest["seconds"]
    publish("webp_settings", {"photos": len(photos), "folder": str(args.folder)}, rows, args.json)


if __name__ == "__main__":
    main()
