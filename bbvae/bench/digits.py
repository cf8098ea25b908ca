"""`bbvae bench`: measured bits/dim against the model's bound and the classical codecs, and speed.

Everything runs side by side in one process on the same images; results go to
results_dir() / DATASET_SPLIT_bench[_LIMIT].{json,md,png}, e.g. benchmarks/results/mnist_test_bench.json.
"""

from __future__ import annotations

import numpy as np

from bbvae import api
from bbvae.bench.charts import bar_chart
from bbvae.bench.report import best_time, dataset_label, markdown_table, results_dir, write_results
from bbvae.coder import Message
from bbvae.datasets import sources as data
from bbvae.format import container
from bbvae.models.evaluate import evaluate
from bbvae.models.modelfile import load_model


def _borrowed_bits(encoded: bytes) -> int:
    return sum(Message.from_bytes(s.payload).borrowed_bits for s in container.unpack(encoded).segments)


def _initial_bits(net, first: np.ndarray, model: str) -> float:
    """What starting a message costs: the first image is coded without bits-back, so it pays
    its latent in full; this is its message size minus its own negative ELBO (16 samples)."""
    alone = container.unpack(api.compress(first[None], model, verify=False)).segments[0].payload
    coded = Message.from_bytes(alone).bits - Message().bits
    repeated = np.repeat(first[None, None] if first.ndim == 2 else first.transpose(2, 0, 1)[None], 16, axis=0)
    elbo_bits = evaluate(net, repeated, iwae_samples=0, as_coded=True)["elbo_bpd"] * first.size
    return coded - elbo_bits


def _classical_rows(images: np.ndarray, threads: int, say) -> list[dict]:
    from bbvae.bench.peers import codecs, grid

    rows = []
    dims = images.size
    whole = grid(images)
    for name, (encode, decode) in codecs(threads).items():
        say(f"  {name}")
        encode_s, blob = best_time(lambda: encode(whole))
        decode_s, restored = best_time(lambda: decode(blob, whole.shape))
        assert np.array_equal(restored, whole), name
        singles = [encode(image) for image in images]
        rows.append({"codec": name, "whole_set_bpd": 8 * len(blob) / dims,
                     "single_file_mean_bytes": float(np.mean([len(b) for b in singles])),
                     "single_file_bpd": 8 * sum(len(b) for b in singles) / dims,
                     "encode_images_per_s": len(images) / encode_s, "decode_images_per_s": len(images) / decode_s})
    return rows


def measure(grey: np.ndarray, model: str, jobs: int, say=print) -> tuple[dict, bytes]:
    """bbvae's row on these images (whole set as one file, one file per image, speed), and the file."""
    api.decompress(api.compress(grey[:4], model, verify=False), model)  # load model and kernels outside the timing
    encode_s, encoded = best_time(lambda: api.compress(grey, model, jobs=jobs, verify=False))
    decode_s, decoded = best_time(lambda: api.decompress(encoded, model, jobs=jobs))
    assert all(np.array_equal(a, b) for a, b in zip(grey, decoded))
    say("bbvae, one file per image")
    singles = [len(api.compress(image[None], model, verify=False)) for image in grey]
    return {"codec": "bbvae", "whole_set_bpd": 8 * len(encoded) / grey.size,
            "single_file_mean_bytes": float(np.mean(singles)), "single_file_bpd": 8 * sum(singles) / grey.size,
            "encode_images_per_s": len(grey) / encode_s, "decode_images_per_s": len(grey) / decode_s}, encoded


def run(dataset: str = "mnist", split: str = "test", limit: int | None = None, model: str = "mnist",
        jobs: int = 1, say=print) -> dict:
    images = data.load(dataset, split)[:limit]
    grey = images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)
    dims = images.size
    say(f"bbvae on {len(images)} {dataset} {split} images, {jobs} job(s)")
    ours, encoded = measure(grey, model, jobs, say)
    say("negative ELBO of the model on the same images")
    net, _ = load_model(model)
    elbo = evaluate(net, images, iwae_samples=0, as_coded=True)["elbo_bpd"]
    coded = ours["whole_set_bpd"]
    initial = _initial_bits(net, grey[0], model)
    say("classical codecs")
    rows = [ours] + _classical_rows(grey, jobs, say)
    jxl = next(r for r in rows if r["codec"] == "JPEG XL e10")
    summary = {
        "images": len(images), "dataset": dataset, "split": split, "model": model, "jobs": jobs,
        "coded_bpd": coded, "elbo_bpd": elbo, "gap_pct": 100 * (coded - elbo) / elbo,
        "initial_bits": initial, "borrowed_bits": _borrowed_bits(encoded),
        "net_coded_bpd": (8 * len(encoded) - initial) / dims,
        "single_file_mean_bytes": ours["single_file_mean_bytes"], "single_file_bpd": ours["single_file_bpd"],
        "jxl_e10_single_file_mean_bytes": jxl["single_file_mean_bytes"], "jxl_e10_whole_set_bpd": jxl["whole_set_bpd"],
        "encode_images_per_s": ours["encode_images_per_s"], "decode_images_per_s": ours["decode_images_per_s"],
        "jxl_e7_encode_images_per_s": next(r for r in rows if r["codec"] == "JPEG XL e7")["encode_images_per_s"],
    }
    columns = ["codec", "whole_set_bpd", "single_file_mean_bytes", "single_file_bpd", "encode_images_per_s", "decode_images_per_s"]
    table = markdown_table(rows, columns)
    name = f"{dataset_label(dataset)}_{split}_bench" + (f"_{limit}" if limit else "")
    write_results(name, summary, rows, table)
    bar_chart(results_dir() / f"{name}.png", [r["codec"] for r in rows], [r["whole_set_bpd"] for r in rows],
              f"bits/dim, whole set of {len(images)} {dataset} {split} images (lower is better)", highlight=0)
    say(table)
    return summary
