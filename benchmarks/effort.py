"""The encoder's effort levels (`bbvae compress -e`) side by side: bytes and encoding time per photograph.

    python benchmarks/effort.py FOLDER [--model NAME]

Run it on validation photographs (`bbvae photoset OUT` writes OUT/validation): the levels are a choice
made on them, not on the test set. Each level codes each photograph once after a warm-up, in one
process, on one core's worth of torch threads as the command uses them; every file is decoded and
compared. Writes benchmarks/results/effort.{json,md}.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bbvae import api
from bbvae.bench.report import best_time, markdown_table, write_results
from bbvae.codecs.effort import EFFORTS
from bbvae.datasets.sources import folder_files
from bbvae.io.images import read_image
from bbvae.models.defaults import PHOTO_MODEL


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model", default=PHOTO_MODEL, help=f"default: {PHOTO_MODEL}")
    args = parser.parse_args()
    photos = {Path(path).name: read_image(path) for path in folder_files(str(args.folder))}
    api.compress([next(iter(photos.values()))[:64, :64]], args.model, verify=False)  # model load and compile
    rows = []
    for name, image in photos.items():
        for level in EFFORTS:
            seconds, data = best_time(lambda: api.compress([image], args.model, effort=level, verify=False))
            assert np.array_equal(api.decompress(data, args.model)[0], image), (name, level)
            rows.append({"photo": name, "effort": level, "bytes": len(data), "encode_s": seconds,
                         "bits_per_dim": 8 * len(data) / image.size})
    summary = {"photos": len(photos), "model": args.model}
    for level in EFFORTS:
        mine = [row for row in rows if row["effort"] == level]
        summary[f"effort_{level}_bytes"] = sum(row["bytes"] for row in mine)
        summary[f"effort_{level}_encode_s"] = sum(row["encode_s"] for row in mine)
    default = max(EFFORTS)
    for level in EFFORTS:
        summary[f"effort_{level}_bytes_vs_{default}_pct"] = 100 * (summary[f"effort_{level}_bytes"] / summary[f"effort_{default}_bytes"] - 1)
        summary[f"effort_{level}_time_vs_{default}"] = summary[f"effort_{level}_encode_s"] / summary[f"effort_{default}_encode_s"]
    table = markdown_table(rows, ["photo", "effort", "bytes", "bits_per_dim", "encode_s"])
    path = write_results("effort", summary, rows, table)
    print(table)
    print(summary)
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
