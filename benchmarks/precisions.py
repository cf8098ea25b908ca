"""Rate against the coding precisions, for a set of digits in one file and for one digit per file.

    python benchmarks/precisions.py [--images N] [--singles M] [--json]

Too few latent bins or too coarse a quantisation inflates the rate above the
negative ELBO. This run is what chose the defaults in
bbvae/format/precisions.py. A lone image is coded directly: with the
model's allocation table (bbvae/training/allocation.py) its latent bits do not depend on
the latent precision, so the single-file column changes only with the pixel
precision (and, for a model without a table, with the latent precision).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

import bbvae
from bbvae.bench.report import markdown_table, write_results
from bbvae.datasets import sources as data
from bbvae.format.precisions import Precisions
from bbvae.models.evaluate import evaluate
from bbvae.models.modelfile import load_model

SETTINGS = [Precisions(latent, 22, 24) for latent in (3, 4, 5, 6, 7, 8, 10, 12, 14)] + [
    Precisions(10, posterior, 24) for posterior in (12, 16, 28)] + [
    Precisions(10, 22, pixels) for pixels in (10, 12, 16, 28)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000, help="test digits coded as one file")
    parser.add_argument("--singles", type=int, default=300, help="test digits coded one per file")
    parser.add_argument("--model", default="mnist")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    digits = data.load("mnist", "test")[: max(args.images, args.singles), 0]
    whole, lone = digits[: args.images], digits[: args.singles]
    elbo = evaluate(load_model(args.model)[0], whole[:, None], iwae_samples=0, as_coded=True)["elbo_bpd"]
    rows = []
    for setting in SETTINGS:
        set_bpd = 8 * len(bbvae.compress(whole, args.model, precisions=setting, verify=False)) / whole.size
        single = np.mean([len(bbvae.compress(d[None], args.model, precisions=setting, verify=False)) for d in lone])
        rows.append({"latent": setting.latent, "posterior": setting.posterior, "pixels": setting.pixels,
                     "set_bpd": set_bpd, "set_gap_pct": 100 * (set_bpd - elbo) / elbo, "single_mean_bytes": float(single)})
        print(rows[-1], flush=True)
    best_set = min(rows, key=lambda r: r["set_bpd"])
    best_single = min(rows, key=lambda r: r["single_mean_bytes"])
    summary = {"images": len(whole), "singles": len(lone), "elbo_bpd": elbo,
               "best_set": best_set, "best_single": best_single}
    table = markdown_table(rows, ["latent", "posterior", "pixels", "set_bpd", "set_gap_pct", "single_mean_bytes"])
    write_results("precisions", summary, rows, f"negative ELBO {elbo:.4f} bits/dim on the same {len(whole)} digits\n\n{table}")
    print(table)
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
