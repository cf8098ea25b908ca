"""How torch's OpenMP threads wait, on an idle machine and beside a busy program: the case for bbvae's default
OMP_WAIT_POLICY=PASSIVE (bbvae/__init__.py).

    python benchmarks/threads.py [--photo PATH]

Each setting runs in a fresh process (the policy is read when OpenMP starts): compress and decompress one
photograph with the shipped photo codec, one digit round trip through the library API (median of 30), and
200 digits as one file; with 2 torch threads under each waiting policy and with 1 thread. "busy" runs a
spinning process beside it on one core, as a browser or a build would. Writes benchmarks/results/threads.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from bbvae.bench.report import markdown_table, write_results

PROBE = r"""
import json, sys, time
import numpy as np
import torch
import bbvae
from bbvae import api
from bbvae.datasets import sources
from bbvae.io.images import read_image
torch.set_num_threads(int(sys.argv[2]))
image = read_image(sys.argv[1])
api.compress([image[:64, :64]], verify=False)
digits = sources.load("mnist", "test")[:200, 0]
bbvae.decompress(bbvae.compress(digits[0]))
began = time.perf_counter(); data = api.compress([image], verify=False); encoded = time.perf_counter()
assert np.array_equal(api.decompress(data)[0], image); decoded = time.perf_counter()
trips = []
for digit in digits[1:31]:
    start = time.perf_counter(); assert np.array_equal(bbvae.decompress(bbvae.compress(digit))[0], digit)
    trips.append(time.perf_counter() - start)
start = time.perf_counter(); api.compress(list(digits), verify=False); many = time.perf_counter() - start
print(json.dumps({"photo_encode_s": encoded - began, "photo_decode_s": decoded - encoded,
                  "digit_round_trip_ms": 1000 * float(np.median(trips)), "digits_200_encode_s": many}))
"""
SETTINGS = {"2 threads, spinning (OpenMP's default)": ("ACTIVE", 2), "2 threads, passive (bbvae's default)": ("PASSIVE", 2),
            "1 thread": ("PASSIVE", 1)}


def measure(photo: str, policy: str, threads: int, busy: bool) -> dict:
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        env = {**os.environ, "OMP_WAIT_POLICY": policy}
        result = subprocess.run([sys.executable, "-c", PROBE, photo, str(threads)], env=env, capture_output=True,
                                text=True, check=True)
    finally:
        if spinner:
            spinner.kill()
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", default=None, help="a photograph (default: scikit-image's coffee)")
    args = parser.parse_args()
    photo = args.photo
    if photo is None:
        import skimage

        photo = os.path.join(os.path.dirname(skimage.__file__), "data", "coffee.png")
    rows = []
    for machine in ("idle", "busy"):
        for label, (policy, threads) in SETTINGS.items():
            rows.append({"machine": machine, "setting": label, **measure(photo, policy, threads, machine == "busy")})
    summary = {"photo": os.path.basename(photo), "cpus": os.cpu_count(), "rows": len(rows)}
    table = markdown_table(rows, ["machine", "setting", "photo_encode_s", "photo_decode_s", "digit_round_trip_ms",
                                  "digits_200_encode_s"])
    print(table)
    print(f"results written to {write_results('threads', summary, rows, table)}")


if __name__ == "__main__":
    main()
