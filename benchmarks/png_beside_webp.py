"""Where a PNG record could be smaller than the WebP one: lossless PNG against lossless WebP by image size.

    python benchmarks/png_beside_webp.py FOLDER [--json]

bbvae stores a photograph as the smallest of its model record and its classical records, and PNG at zlib's
strong level costs CPU beside the model path that the WebP record makes worthless wherever WebP is smaller.
This run chose where the PNG record is made at the strong level and where at the quick one
(bbvae/codecs/classical.py: STRONG_PNG_MAX_PIXELS): run it on validation photographs (`bbvae photoset OUT`
writes OUT/validation), not on the test set. For every photograph whole and for its crops of each side in SIDES
(the centre and the four quarter points, as benchmarks/small_images.py takes them), in one process: the PNG
record's bytes at both levels and WebP's (at the default effort's setting), and their encoding seconds. Per
size: how many images, on how many the strong and the quick PNG are smaller than WebP, the bytes that taking
WebP there instead of the strong PNG would cost, and the seconds each took. Results: benchmarks/results/png_beside_webp.{json,md}.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from small_images import crops

from bbvae.bench.report import publish
from bbvae.codecs import classical
from bbvae.datasets.sources import folder_files
from bbvae.io.images import read_image

SIDES = (8, 16, 32, 48, 64, 96, 128, 256)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--json", action="store_true", help="also print the summary as one JSON line")
    args = parser.parse_args()
    photos = [read_image(path) for path in folder_files(str(args.folder))]
    classical.encode_png(photos[0][:16, :16]), classical.encode_webp(photos[0][:16, :16])  # first calls untimed
    groups = [(f"{side}x{side}", [crop for image in photos for _, crop in crops(image, side)]) for side in SIDES]
    rows = [size_row(label, images) for label, images in groups + [("whole photographs", photos)]]
    summary = {"folder": str(args.folder), "photos": len(photos),
               "png_smaller_on": {row["size"]: row["png_smaller"] for row in rows}}
    publish("png_beside_webp", summary, rows, args.json)


def size_row(label: str, images: list) -> dict:
    """One size's comparison: counts, bytes and seconds over its images."""
    counts = dict.fromkeys(["png_smaller", "quick_png_smaller", "bytes_without_png", "png_bytes", "webp_bytes"], 0)
    seconds = dict.fromkeys(["png_seconds", "quick_png_seconds", "webp_seconds"], 0.0)
    for image in images:
        png, seconds["png_seconds"] = timed(lambda: len(classical.encode_png(image)), seconds["png_seconds"])
        quick, seconds["quick_png_seconds"] = timed(
            lambda: len(classical.encode_png(image, classical.QUICK_PNG_LEVEL)), seconds["quick_png_seconds"])
        webp, seconds["webp_seconds"] = timed(lambda: len(classical.encode_webp(image)), seconds["webp_seconds"])
        counts["png_smaller"] += png < webp
        counts["quick_png_smaller"] += quick < webp
        counts["bytes_without_png"] += max(0, webp - png)
        counts["png_bytes"] += png
        counts["webp_bytes"] += webp
    return {"size": label, "images": len(images)} | counts | seconds


def timed(run, total: float):
    """run()'s result and `total` plus the seconds it took."""
    began = time.perf_counter()
    result = run()
    return result, total + time.perf_counter() - began


if __name__ == "__main__":
    main()
