"""`bbvae bench --images DIR`: bbvae on photographs against PNG, WebP and JPEG XL, side by side.

For each image: bits/dim of the .bbv file bbvae writes (and the path it took),
of the model path alone (what the patch model codes, even when the fallback
wins, with its own compress and decompress seconds), of the model path without
per-patch scale shifts (the model as trained: its coded negative ELBO), of PNG, lossless WebP at
its strongest setting, and JPEG XL lossless effort 7 and 10 (imagecodecs); compress and decompress seconds of bbvae and of
JPEG XL e10, in the same process. Results: benchmarks/results/photo_bench.{json,md,png}.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bbvae import api
from bbvae.bench.charts import bar_chart, rate_speed_chart
from bbvae.bench.report import best_time, markdown_table, results_dir, write_results
from bbvae.codecs import photos as photo_api
from bbvae.datasets.sources import folder_files
from bbvae.io.images import read_image, same_image
from bbvae.models.modelfile import PHOTO_MODEL, resolve

PEERS = ("PNG", "WebP lossless", "JPEG XL e7", "JPEG XL e10")
KEY_OF_PEER = {"PNG": "png_bpd", "WebP lossless": "webp_bpd", "JPEG XL e7": "jxl_e7_bpd", "JPEG XL e10": "jxl_e10_bpd"}


def _peer_row(image: np.ndarray, peers: dict) -> dict:
    row = {}
    for name in PEERS:
        encode, decode = peers[name]
        encode_s, blob = best_time(lambda: encode(image))
        decode_s, restored = best_time(lambda: decode(blob, image.shape))
        if not np.array_equal(restored, image):
            raise AssertionError(f"{name} is not lossless on this image")
        row[KEY_OF_PEER[name]] = 8 * len(blob) / image.size
        stem = KEY_OF_PEER[name].removesuffix("_bpd")
        row[f"{stem}_encode_s"], row[f"{stem}_decode_s"] = encode_s, decode_s
    return row


def _model_path_row(image: np.ndarray, model_path: str) -> dict:
    """The model path alone (colour by the patch model, alpha as PNG): bits/dim, and seconds to code it
    both ways, which the file's own timings hide when the fallback wins."""
    encode_s, record = best_time(lambda: photo_api.model_record(image, model_path))
    decode_s, restored = best_time(lambda: photo_api.decode_record(record, photo_api.shape_of(image), model_path))
    unshifted = photo_api.model_record(image, model_path, scale_shifts=False)
    if not (same_image(restored, image)
            and same_image(photo_api.decode_record(unshifted, photo_api.shape_of(image), model_path), image)):
        raise AssertionError("the model path is not lossless on this image")
    return {"model_path_bpd": 8 * len(record.to_bytes()) / image.size, "model_encode_s": encode_s, "model_decode_s": decode_s,
            "unshifted_bpd": 8 * len(unshifted.to_bytes()) / image.size}


def run(folder: str, model: str = PHOTO_MODEL, jobs: int = 1, say=print) -> dict:
    from bbvae.bench.peers import codecs

    peers = codecs(threads=jobs)
    model_path = str(resolve(model))
    rows = []
    for path in folder_files(folder):
        image = read_image(path)
        if hasattr(image, "mode"):
            say(f"{path.name}: skipped (palette and bilevel images always take the classical path)")
            continue
        say(f"{path.name}: {image.shape[1]}x{image.shape[0]}")
        api.compress([image], model_path, verify=False)  # warm-up: model load and Numba compile stay out of the timing
        encode_s, data = best_time(lambda: api.compress([image], model_path, verify=False))
        decode_s, decoded = best_time(lambda: api.decompress(data, model_path))
        if not same_image(decoded[0], image):
            raise AssertionError(f"{path}: bbvae round trip failed")
        rows.append({"image": path.name, "width": image.shape[1], "height": image.shape[0], "mode": photo_api.mode_of(image),
                     "bbvae_bpd": 8 * len(data) / image.size, "path": api.describe_container(data)["paths"][0]["path"],
                     **_model_path_row(image, model_path), **_peer_row(image, peers),
                     "bbvae_encode_s": encode_s, "bbvae_decode_s": decode_s})
    dims = np.array([r["width"] * r["height"] * (1 if r["mode"] == "L" else len(r["mode"])) for r in rows], dtype=np.float64)
    pixels = sum(r["width"] * r["height"] for r in rows)

    def total(key):
        return float(np.sum([r[key] for r in rows] * dims) / dims.sum())

    def mpix_s(seconds_key):
        """Throughput over all images: their pixels over the seconds summed under seconds_key."""
        return pixels / 1e6 / sum(r[seconds_key] for r in rows)

    summary = {"images": len(rows), "model": model_path, "bbvae_bpd": total("bbvae_bpd"),
               "model_path_bpd": total("model_path_bpd"), "unshifted_bpd": total("unshifted_bpd"), **{key: total(key) for key in KEY_OF_PEER.values()},
               "encode_mpix_s": mpix_s("bbvae_encode_s"), "decode_mpix_s": mpix_s("bbvae_decode_s"),
               "model_encode_mpix_s": mpix_s("model_encode_s"), "model_decode_mpix_s": mpix_s("model_decode_s"),
               "jxl_e10_encode_mpix_s": mpix_s("jxl_e10_encode_s"), "jxl_e10_decode_mpix_s": mpix_s("jxl_e10_decode_s"),
               "paths": {p: sum(r["path"] == p for r in rows) for p in sorted({r["path"] for r in rows})}}
    columns = ["image", "mode", "bbvae_bpd", "path", "model_path_bpd", "unshifted_bpd", "png_bpd", "webp_bpd", "jxl_e7_bpd",
               "jxl_e10_bpd", "bbvae_encode_s", "bbvae_decode_s", "model_encode_s", "model_decode_s", "jxl_e10_encode_s",
               "jxl_e10_decode_s"]
    write_results("photo_bench", summary, rows, markdown_table(rows + [{"image": "all", **summary}], columns))
    labels = ["bbvae (file)", "bbvae model path", "PNG", "WebP lossless", "JPEG XL e7", "JPEG XL e10"]
    keys = ["bbvae_bpd", "model_path_bpd", "png_bpd", "webp_bpd", "jxl_e7_bpd", "jxl_e10_bpd"]
    bar_chart(results_dir() / "photo_bench.png", labels, [summary[k] for k in keys],
              f"bits/dim on {len(rows)} photographs of {Path(folder).name}", highlight=0)
    speeds = {"bbvae": "bbvae_encode_s", "bbvae model path": "model_encode_s",
              **{peer: KEY_OF_PEER[peer].removesuffix("_bpd") + "_encode_s" for peer in PEERS}}
    rates = dict(zip(speeds, ["bbvae_bpd", "model_path_bpd", *KEY_OF_PEER.values()]))
    rate_speed_chart(results_dir() / "photo_bench_rate_speed.png",
                     {label: (mpix_s(key), summary[rates[label]]) for label, key in speeds.items()},
                     f"rate against encode speed on {len(rows)} photographs of {Path(folder).name}", highlight="bbvae")
    return summary
