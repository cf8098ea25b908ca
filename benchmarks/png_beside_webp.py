"""Where a PNG record could be smaller than the WebP one: lossless PNG against lossless WebP by image size.

    python benchmarks/png_beside_webp.py FOLDER [--json]

bbvae stores a photograph as the smallest of its model record and its classical records, and PNG (zlib at
level 9) costs CPU beside the model path that the WebP record makes worthless wherever WebP is smaller. This
run chose where the PNG record is still made (bbvae/codecs/classical.py: PNG_BESIDE_WEBP_PIXELS): run it on
validation photographs (`bbvae photoset OUT` writes OUT/validation), not on the test set. For every
photograph whole and for its crops of each side in SIDES (the centre and the four quarter points, as
benchmarks/small_images.py takes them), in one process: the PNG and WebP records' bytes (WebP at the default
effort's setting) and their encoding seconds. Per size: how many images, on how many PNG is smaller, the bytes
that taking WebP there would cost, and the seconds each took. Results: benchmarks/results/png_beside_webp.{json,md}.
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
    png_smaller = bytes_lost = png_bytes = webp_bytes = 0
    png_seconds = webp_seconds = 0.0
    for image in images:
        began = time.perf_counter()
        png = len(classical.encode_png(image))
        middle = time.perf_counter()
        webp = len(classical.encode_webp(image))
        png_seconds, webp_seconds = png_seconds + middle - began, webp_seconds + time.perf_counter() - middle
        png_smaller += png < webp
        bytes_lost += max(0, webp - png)
        png_bytes, webp_bytes = png_bytes + png, webp_bytes + webp
    return {"size": label, "images": len(images),
            "png_smaller": png_smaller, "bytes_without_png": bytes_lost, "png_bytes": png_bytes,
            "webp_bytes": webp_bytes, "png_seconds": png_seconds, "webp_seconds": webp_seconds}


if __name__ == "__main__":
    main()
