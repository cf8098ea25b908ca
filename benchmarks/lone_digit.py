"""One digit at a time through the library, as a script calls it, beside JPEG XL and PNG in the same loop.

    python benchmarks/lone_digit.py [--digits 200] [--rounds 3] [--json]

Each of the first N MNIST test digits makes one round trip: bbvae.compress (the default model, the check
decode on) then bbvae.decompress, compared pixel for pixel; and the same digits through JPEG XL (effort 7,
its default) and PNG (level 9) in imagecodecs, encoded and decoded. The codecs take turns, all N digits
each, for `--rounds` rounds, so a drift in the machine's speed reaches all of them alike (bbvae.bench.peers
codes the peers, as the digit bench does). Times are per round trip in milliseconds once everything is loaded (a warm-up digit first):
median and 90th percentile of all rounds.
Results: benchmarks/results/lone_digit.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from bbvae.bench.report import markdown_table, write_results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=200, help="MNIST test digits, one round trip each (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="turns each codec takes (default 3)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line at the end")
    args = parser.parse_args()

    import bbvae
    from bbvae.bench import peers
    from bbvae.datasets.sources import load

    def ours(digit):
        data = bbvae.compress(digit)
        return data, bbvae.decompress(data)

    def peer(name):
        encode, decode = peers.codecs(threads=1)[name]

        def round_trip(digit):
            data = encode(digit)
            return data, decode(data, digit.shape)
        return round_trip

    codecs = {"bbvae": ours, "JPEG XL e7": peer("JPEG XL e7"), "PNG level 9": peer("PNG")}
    digits = load("mnist", "test")[: args.digits].reshape(-1, 28, 28)
    for code in codecs.values():
        code(digits[0])  # loads the model and the kernels
    times = {name: [] for name in codecs}
    sizes = {name: [] for name in codecs}
    exact = True
    for _ in range(args.rounds):
        for name, code in codecs.items():
            for digit in digits:
                began = time.perf_counter()
                data, restored = code(digit)
                times[name].append(1e3 * (time.perf_counter() - began))
                sizes[name].append(len(data))
                exact &= np.array_equal(np.asarray(restored).reshape(digit.shape), digit)
    rows = [{"codec": name, "median_ms": float(np.median(times[name])), "p90_ms": float(np.percentile(times[name], 90)),
             "mean_bytes": float(np.mean(sizes[name]))} for name in codecs]
    summary = {"digits": len(digits), "rounds": args.rounds, "exact": bool(exact), "median_ms": rows[0]["median_ms"], "p90_ms": rows[0]["p90_ms"],
               "mean_bytes": rows[0]["mean_bytes"],
               "time_ratio_vs_jxl_e7": rows[0]["median_ms"] / rows[1]["median_ms"], "bbvae": bbvae.__version__}
    path = write_results("lone_digit", summary, rows, markdown_table(rows, list(rows[0])))
    for row in rows:
        print(f"{row['codec']}: median {row['median_ms']:.2f} ms, p90 {row['p90_ms']:.2f} ms, {row['mean_bytes']:.1f} bytes")
    print(f"exact {exact} (results in {path})")
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
