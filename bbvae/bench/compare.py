"""`bbvae compare MODEL...`: VAE variants side by side on one dataset, bound against real file size.

For each model: parameters, training time, variant (prior, posterior,
likelihood), the negative ELBO and the IWAE estimate on the images, the measured
bits/dim of the whole set as one .bbv file (with one posterior sample per image,
and with K importance samples where the prior allows it: coded_iw_bpd) and of
one file per image, and encode/decode speed (bbvae/rate_bench.measure), all on
the same images in one process. Results:
benchmarks/results/compare_DATASET_SPLIT.{json,md,png}.
"""

from __future__ import annotations

import numpy as np

from bbvae import api
from bbvae.bench.charts import bar_chart
from bbvae.bench.digits import measure
from bbvae.bench.report import dataset_label, markdown_table, results_dir, write_results
from bbvae.datasets import sources as data
from bbvae.errors import ConfigError
from bbvae.models.evaluate import evaluate
from bbvae.models.modelfile import load_model, resolve
from bbvae.models.priors import PRIORS

COLUMNS = ["model", "prior", "posterior", "likelihood", "parameters", "train_minutes", "elbo_bpd", "iwae_bpd",
           "coded_bpd", "coded_iw_bpd", "single_file_bpd", "encode_images_per_s", "decode_images_per_s"]


def _importance_coded_bpd(grey: np.ndarray, path: str, particles: int, prior: str) -> float | None:
    """Measured bits/dim of the set coded with `particles` importance samples per image (decoded and checked)."""
    if particles < 2 or not PRIORS[prior].importance_weighted:
        return None
    encoded = api.compress(grey, path, particles=particles, verify=False)
    if not all(np.array_equal(a, b) for a, b in zip(grey, api.decompress(encoded, path))):
        raise AssertionError("importance-weighted coding did not round-trip")
    return 8 * len(encoded) / grey.size


def run(models: list[str], dataset: str = "mnist", split: str = "test", limit: int | None = None,
        iwae_samples: int = 100, jobs: int = 1, particles: int = 8, say=print) -> dict:
    images = data.load(dataset, split)[:limit]
    grey = images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)
    rows = []
    for name in models:
        path = str(resolve(name))
        net, info = load_model(path)
        if info.config.patches:
            raise ConfigError(f"{name} is a patch model: compare codes whole-image datasets")
        say(f"{name}: bounds on {len(images)} {dataset} {split} images")
        bounds = evaluate(net, images, iwae_samples, as_coded=True)
        say(f"{name}: coding")
        ours, _ = measure(grey, path, jobs, say)
        say(f"{name}: coding with {particles} particles")
        coded_iw = _importance_coded_bpd(grey, path, particles, net.cfg.prior)
        rows.append({"model": name, "prior": net.cfg.prior, "posterior": net.cfg.posterior,
                     "likelihood": f"local mixture of {net.cfg.mixture}" if net.cfg.local else "logistic",
                     "parameters": sum(p.numel() for p in net.parameters()),
                     "train_minutes": info.info.get("train_seconds", 0.0) / 60, "elbo_bpd": bounds["elbo_bpd"],
                     "iwae_bpd": bounds["iwae_bpd"], "coded_bpd": ours["whole_set_bpd"], "coded_iw_bpd": coded_iw,
                     "particles": particles,
                     "single_file_bpd": ours["single_file_bpd"], "encode_images_per_s": ours["encode_images_per_s"],
                     "decode_images_per_s": ours["decode_images_per_s"]})
    summary = {"dataset": dataset, "split": split, "images": len(images), "iwae_samples": iwae_samples, "rows": rows}
    name = f"compare_{dataset_label(dataset)}_{split}" + (f"_{limit}" if limit else "")
    write_results(name, summary, rows, markdown_table(rows, COLUMNS))
    bar_chart(results_dir() / f"{name}.png", [r["model"] for r in rows], [r["coded_bpd"] for r in rows],
              f"measured bits/dim, {len(images)} {dataset} {split} images as one file (lower is better)")
    return summary
