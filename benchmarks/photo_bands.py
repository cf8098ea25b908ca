"""A lone photograph with --jobs 1 and --jobs 2 (two bands side by side, bbvae/codecs/bands.py): time and size.

    python benchmarks/photo_bands.py [--model NAME] [--repeats 2] [--json]

For each benchmark photograph (scikit-image's astronaut, coffee and camera, as bbvae ships them), in one
process: bbvae.compress without and with its check decode, and bbvae.decompress, each at jobs 1 and 2
(the best of `--repeats` runs, model and kernels loaded beforehand), the file's size, and the size
that the two bands add. JPEG XL effort 7 with the same thread counts runs beside it as the peer, on
the same pixels. Results: benchmarks/results/photo_bands.{json,md}.
"""

from __future__ import annotations

import argparse

import numpy as np

from bbvae.models.defaults import PHOTO_MODEL

PHOTOS = ("astronaut.png", "coffee.png", "camera.png")


def main():
    import bbvae
    from bbvae.bench.peers import codecs
    from bbvae.bench.report import best_time, markdown_table, publish
    from bbvae.datasets.photos import TEST_PHOTOS, load_shipped

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=PHOTO_MODEL, help=f"default: {PHOTO_MODEL}")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    shipped = load_shipped("test")
    rows = []
    for name in PHOTOS:
        image = shipped[TEST_PHOTOS.index(name)]
        sizes = {}
        for jobs in (1, 2):
            bbvae.decompress(bbvae.compress([image], args.model, jobs=jobs), jobs=jobs)  # loads and compiles
            encode_s, data = best_time(lambda: bbvae.compress([image], args.model, jobs=jobs, verify=False), args.repeats)
            checked_s, _ = best_time(lambda: bbvae.compress([image], args.model, jobs=jobs), args.repeats)
            decode_s, decoded = best_time(lambda: bbvae.decompress(data, jobs=jobs), args.repeats)
            encode_jxl, decode_jxl = codecs(threads=jobs)["JPEG XL e7"]
            jxl_encode_s, jxl = best_time(lambda: encode_jxl(image), args.repeats)
            jxl_decode_s, _ = best_time(lambda: decode_jxl(jxl, image.shape), args.repeats)
            sizes[jobs] = len(data)
            facts = bbvae.api.describe_container(data)["paths"][0]
            rows.append({"image": name, "pixels": image.shape[0] * image.shape[1], "jobs": jobs, "path": facts["path"],
                         "bands": facts["bands"], "bytes": len(data), "size_vs_jobs_1_pct": 100 * (len(data) / sizes[1] - 1),
                         "compress_s": encode_s, "compress_with_check_s": checked_s, "decompress_s": decode_s,
                         "exact": bool(np.array_equal(decoded[0], image)),
                         "jxl_e7_encode_s": jxl_encode_s, "jxl_e7_decode_s": jxl_decode_s})
            print(markdown_table(rows[-1:], list(rows[-1])), flush=True)
    summary = {}
    for jobs in (1, 2):
        mine = [row for row in rows if row["jobs"] == jobs]
        summary[f"jobs_{jobs}"] = {key: float(np.mean([row[key] for row in mine])) for key in
                                   ("size_vs_jobs_1_pct", "compress_s", "compress_with_check_s", "decompress_s",
                                    "jxl_e7_encode_s", "jxl_e7_decode_s")}
        summary[f"jobs_{jobs}"]["exact"] = all(row["exact"] for row in mine)
    publish("photo_bands", summary, rows, args.json)


if __name__ == "__main__":
    main()
