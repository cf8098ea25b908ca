"""Digits per second through the library with `jobs`, without the digit bench's other measurements.

    python benchmarks/digit_jobs.py [--digits 10000] [--jobs 2] [--model NAME ...] [--rounds 1] [--json]

The first N MNIST test digits as one file: bbvae.compress (no check decode) and bbvae.decompress, each
timed once per round after a small warm-up call that loads the model and the kernels, and the decoded
digits compared with the input. With several `--model`s, each round codes the digits with every model in
turn, so that models are compared side by side in one process (this machine's speed drifts between runs);
a model's figure is its median over the rounds. Comparisons of code: run it with `PYTHONPATH` at two
checkouts, alternately. Results: benchmarks/results/digit_jobs.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from bbvae.bench.report import markdown_table, write_results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=10000, help="MNIST test digits coded as one file (default 10000)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--model", action="append", help="a digit codec (repeatable; default: the default model)")
    parser.add_argument("--rounds", type=int, default=1, help="timings per model, taken in turns (default 1)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line at the end")
    args = parser.parse_args()

    import bbvae
    from bbvae.datasets.sources import load
    from bbvae.models.modelfile import DEFAULT_MODEL

    digits = load("mnist", "test")[: args.digits].reshape(-1, 28, 28)
    models = args.model or [None]
    timings = {model: [] for model in models}
    for model in models:
        bbvae.decompress(bbvae.compress(digits[:4], model, verify=False), model)
    for _ in range(args.rounds):
        for model in models:
            timings[model].append(_timed(bbvae, digits, model, args.jobs))
    rows = []
    for model in models:
        size, exact = timings[model][0][2], all(timing[3] for timing in timings[model])
        compress_s, decompress_s = (float(np.median([timing[k] for timing in timings[model]])) for k in (0, 1))
        rows.append({"model": model or DEFAULT_MODEL, "digits": len(digits), "jobs": args.jobs, "bytes": size,
                     "exact": exact, "compress_per_s": len(digits) / compress_s,
                     "decompress_per_s": len(digits) / decompress_s, "rounds": args.rounds, "bbvae": bbvae.__version__})
    summary = rows[0]
    path = write_results("digit_jobs", summary, rows, markdown_table(rows, list(summary)))
    for row in rows:
        print(f"{row['model']}: {len(digits)} digits, {args.jobs} jobs: {row['compress_per_s']:.0f} compressed/s, "
              f"{row['decompress_per_s']:.0f} decompressed/s, exact {row['exact']} (results in {path})")
    if args.json:
        print(json.dumps(summary))


def _timed(bbvae, digits, model, jobs) -> tuple[float, float, int, bool]:
    """Seconds to compress and to decompress the digits as one file, its size, and whether every pixel came back."""
    began = time.perf_counter()
    data = bbvae.compress(digits, model, jobs=jobs, verify=False)
    compress_s = time.perf_counter() - began
    began = time.perf_counter()
    restored = bbvae.decompress(data, model, jobs=jobs)
    decompress_s = time.perf_counter() - began
    exact = len(restored) == len(digits) and all(np.array_equal(a, b) for a, b in zip(restored, digits))
    return compress_s, decompress_s, len(data), exact


if __name__ == "__main__":
    main()
