"""Small RGB images (32x32 and 256x256): bbvae's file against its best classical fallback, the header it adds,
and the peers at their strongest settings.

    python benchmarks/small_images.py [--images DIR] [--model NAME] [--json]

Crops of the RGB photographs in DIR (default: scikit-image's astronaut and coffee as bbvae ships them, and
chelsea): per photograph and side, the centre crop and the crops centred at a quarter and three quarters
of the height and width (five per side). For each crop, in one process: bbvae.compress (its check decode on),
the record's coded bytes (the ANS message, or the PNG or WebP file the record holds), the header around
them (file bytes minus coded bytes: container, record head, checksums), PNG and WebP as bbvae makes its
fallbacks (bbvae/codecs/classical.py: each at the settings of the default effort), and JPEG XL effort 10. A file is "within"
when it is no larger than the best of bbvae's PNG and WebP plus its header. Results:
benchmarks/results/small_images.{json,md}.

The shipped `photo` trained on chelsea and was chosen on astronaut and coffee, so the default photographs
measure the header and the choice of path, not held-out rates: `--images` with photographs no model saw
(docs/DATASETS.md, `unseen/`) gives those.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bbvae.models.defaults import PHOTO_MODEL

SIDES = (32, 256)
DEFAULT_PHOTOS = ("astronaut.png", "coffee.png", "chelsea.png")


def photographs(folder: str | None) -> dict[str, np.ndarray]:
    """name -> RGB pixels: the RGB images of a folder, or the default scikit-image photographs."""
    from PIL import Image

    if folder is None:
        import skimage.data

        folder_path, names = Path(skimage.data.__file__).parent, DEFAULT_PHOTOS
    else:
        folder_path = Path(folder)
        names = sorted(p.name for p in folder_path.iterdir() if p.suffix.lower() in (".png", ".tif", ".tiff", ".webp"))
    found = {}
    for name in names:
        with Image.open(folder_path / name) as image:
            if image.mode == "RGB":
                found[name] = np.asarray(image)
    return found


def crops(image: np.ndarray, side: int) -> list[tuple[str, np.ndarray]]:
    """The centre crop and the crops centred at 1/4 and 3/4 of each axis (those that fit)."""
    height, width = image.shape[:2]
    places = [("centre", height // 2, width // 2)] + [
        (f"{fy}/4,{fx}/4", height * fy // 4, width * fx // 4) for fy in (1, 3) for fx in (1, 3)]
    found = []
    for where, cy, cx in places:
        top, left = min(max(cy - side // 2, 0), height - side), min(max(cx - side // 2, 0), width - side)
        if top >= 0 and left >= 0:
            found.append((where, np.ascontiguousarray(image[top:top + side, left:left + side])))
    return found


def main():
    import bbvae
    from bbvae.bench.peers import codecs
    from bbvae.bench.report import publish
    from bbvae.codecs import classical
    from bbvae.format import container

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", help="a folder of photographs (its RGB ones are used)")
    parser.add_argument("--model", default=PHOTO_MODEL, help=f"default: {PHOTO_MODEL}")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    jxl_e10 = codecs()["JPEG XL e10"][0]
    rows = []
    for name, image in photographs(args.images).items():
        for side in SIDES:
            for where, crop in crops(image, side):
                data = bbvae.compress([crop], args.model)
                assert np.array_equal(bbvae.decompress(data)[0], crop)
                (record,) = container.unpack(data).records()
                fallback = min(len(encoded) for encoded in classical.encodings(crop).values() if encoded)
                header = len(data) - len(record.body)
                rows.append({"image": name, "side": side, "crop": where, "path": record.path, "bytes": len(data),
                             "coded_bytes": len(record.body), "header_bytes": header, "best_fallback_bytes": fallback,
                             "within": len(data) <= fallback + header, "vs_best_fallback_pct": 100 * (len(data) / fallback - 1),
                             "jxl_e10_bytes": len(jxl_e10(crop))})
                print(rows[-1], flush=True)
    summary = {}
    for side in SIDES:
        mine = [row for row in rows if row["side"] == side]
        total = sum(row["bytes"] for row in mine)
        summary[f"side_{side}"] = {
            "files": len(mine), "all_within": all(row["within"] for row in mine),
            "on_model_path": sum(row["path"] == "model" for row in mine),
            "mean_header_bytes": float(np.mean([row["header_bytes"] for row in mine])),
            "mean_bytes": total / len(mine),
            "bytes_vs_best_fallback_pct": 100 * (total / sum(row["best_fallback_bytes"] for row in mine) - 1),
            "bytes_vs_jxl_e10_pct": 100 * (total / sum(row["jxl_e10_bytes"] for row in mine) - 1)}
    publish("small_images", summary, rows, args.json)


if __name__ == "__main__":
    main()
