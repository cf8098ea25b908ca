"""Lossless WebP's size and encoding time per libwebp setting (method, quality) on a folder of photographs.

    python benchmarks/webp_settings.py FOLDER [--model NAME] [--json]

The WebP record is bbvae's classical fallback, made beside the model path of every photograph, so its time
is part of every compression and its size counts wherever WebP wins. This run chose the settings of each
`--effort` level (bbvae/codecs/effort.py): run it on validation photographs (`bbvae photoset OUT` writes
OUT/validation), not on the test set. One process, one thread, each photograph encoded once per setting;
bytes and seconds are totals over the folder, and each setting's ratios are against the strongest row.
With `--model`, each photograph's model record and PNG record are made too (one job), and `file_bytes`
totals what bbvae would store with WebP at that setting, the smallest of the three records per photograph
(`file_bytes_vs_strongest_pct` against the strongest setting's); the summary lists each photograph's model
record against WebP at the default effort's setting. Results: benchmarks/results/webp_settings.{json,md}.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bbvae.bench.report import publish
from bbvae.codecs.effort import DEFAULT_EFFORT, EFFORTS
from bbvae.datasets.sources import folder_files
from bbvae.io.images import encode_webp, read_image

SETTINGS = [(6, 100), (5, 100), (5, 95), (5, 90), (5, 75), (4, 100), (4, 75), (3, 100), (3, 75), (2, 100), (2, 75),
            (1, 75)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model", help="also make each photograph's model and PNG records with this codec")
    parser.add_argument("--json", action="store_true", help="also print the summary as one JSON line")
    args = parser.parse_args()
    paths = folder_files(str(args.folder))
    photos = [read_image(path) for path in paths]
    encode_webp(photos[0][:16, :16], 0)  # the codec's first call out of the timings
    levels = {(e.webp_method, e.webp_quality): level for level, e in EFFORTS.items()}
    others = [other_records(image, args.model) for image in photos] if args.model else None
    rows, sizes = [], {}
    for method, quality in SETTINGS:
        began = time.perf_counter()
        files = [encode_webp(image, method, quality) for image in photos]
        rows.append({"method": method, "quality": quality, "bytes": sum(map(len, files)),
                     "seconds": time.perf_counter() - began, "effort_level": levels.get((method, quality))})
        sizes[method, quality] = [len(record_bytes(image, "webp", data)) for image, data in zip(photos, files)]
        if others:
            rows[-1]["file_bytes"] = sum(min(webp, *other) for webp, other in zip(sizes[method, quality], others))
    strongest = min(rows, key=lambda row: row["bytes"])
    for row in rows:
        row["bytes_vs_strongest_pct"] = 100 * (row["bytes"] / strongest["bytes"] - 1)
        row["time_vs_strongest"] = row["seconds"] / strongest["seconds"]
        if others:
            row["file_bytes_vs_strongest_pct"] = 100 * (row["file_bytes"] / strongest["file_bytes"] - 1)
    summary = {"photos": len(photos), "folder": str(args.folder)}
    if others:
        default = EFFORTS[DEFAULT_EFFORT]
        summary["model"] = args.model
        summary["model_vs_default_webp_pct"] = {
            Path(path).name: round(100 * (other[0] / webp - 1), 2)
            for path, other, webp in zip(paths, others, sizes[default.webp_method, default.webp_quality])}
    publish("webp_settings", summary, rows, args.json)


def record_bytes(image, path: str, data: bytes) -> bytes:
    from bbvae.codecs.photos import mode_of
    from bbvae.format.container import PhotoRecord

    return PhotoRecord(mode_of(image), path, data).to_bytes()


def other_records(image, model: str) -> tuple[int, int]:
    """The sizes of the photograph's model record (as one job makes it) and PNG record."""
    from bbvae.codecs.classical import encode_png
    from bbvae.codecs.photos import model_record
    from bbvae.models.modelfile import resolve

    return len(model_record(image, str(resolve(model))).to_bytes()), len(record_bytes(image, "png", encode_png(image)))


if __name__ == "__main__":
    main()
