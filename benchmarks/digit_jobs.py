"""Digits per second through the library with `jobs`, without the digit bench's other measurements.

    python benchmarks/digit_jobs.py [--digits 10000] [--jobs 2] [--json]

The first N MNIST test digits as one file: bbvae.compress (no check decode) and bbvae.decompress, each
timed once after a small warm-up call that loads the model and the kernels, and the decoded digits
compared with the input. Meant for before/after comparisons of the parallel path: run it with
`PYTHONPATH` at two checkouts, alternately, since this machine's speed drifts between runs.
Results: benchmarks/results/digit_jobs.{json,md}.
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
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line at the end")
    args = parser.parse_args()

    import bbvae
    from bbvae.datasets.sources import load

    digits = load("mnist", "test")[: args.digits].reshape(-1, 28, 28)
    bbvae.decompress(bbvae.compress(digits[:4], verify=False))
    began = time.perf_counter()
    data = bbvae.compress(digits, jobs=args.jobs, verify=False)
    compress_s = time.perf_counter() - began
    began = time.perf_counter()
    restored = bbvae.decompress(data, jobs=args.jobs)
    decompress_s = time.perf_counter() - began
    exact = len(restored) == len(digits) and all(np.array_equal(a, b) for a, b in zip(restored, digits))
    summary = {"digits": len(digits), "jobs": args.jobs, "bytes": len(data), "exact": exact,
               "compress_per_s": len(digits) / compress_s, "decompress_per_s": len(digits) / decompress_s,
               "bbvae": bbvae.__version__}
    path = write_results("digit_jobs", summary, [summary], markdown_table([summary], list(summary)))
    print(f"{len(digits)} digits, {args.jobs} jobs: {summary['compress_per_s']:.0f} compressed/s, "
          f"{summary['decompress_per_s']:.0f} decompressed/s, exact {exact} (results in {path})")
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
