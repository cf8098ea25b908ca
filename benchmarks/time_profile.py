"""Where the time goes: each benchmark's work split into the pipeline's stages, by Python's profiler.

    python benchmarks/time_profile.py [--digits 1000] [--json]

Workloads (one process, one job, the shipped default models, the kernels compiled beforehand):
- `digits`: the first N MNIST test digits as one file (the digit bench's whole-set path);
- `lone digit`: one digit through bbvae.compress / bbvae.decompress, as a script would call it (model path
  and the classical records it is compared with);
- `photograph`: scikit-image's astronaut, 512x512 RGB (the photo bench's image; its rates are not at issue).
Each is timed as three operations: compress without the check decode, compress with it (what
bbvae.compress does by default: it decodes the bytes again and compares every pixel, taking the networks'
results and the per-pixel head's mixtures from the encoding, bbvae/models/recall.py), and decompress. A profiled run of each
operation attributes its time to STAGES by the function it was spent in (tottime), and the shares scale
the unprofiled wall time. The classical records (PNG and WebP, bbvae/codecs/classical.py) are encoded in
threads, which the profiler does not see:
they are timed alone as rows of their own (the photograph's beside its model path, the lone digit's as part
of its compress). `process start` is `bbvae --version` in
a fresh interpreter: the imports (torch, Numba's cached kernels) every coding command pays before any work.
Results: benchmarks/results/time_profile.{json,md}.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import subprocess
import sys
import time

from bbvae.bench.report import best_time, markdown_table, write_results

# (stage, what a profiled function's file or name contains), first match wins
STAGES = (
    ("network", ("conv2d", "conv_transpose2d", "_nn.linear", "fixed_point", "clone", "torch")),
    ("per-pixel head and pixel coding", ("local_pop_kernel", "local_params_kernel", "shifted_scales_kernel", "coder/local.py")),
    ("scale-shift search", ("shift_search_kernel", "scale_shifts.py")),
    ("coder", ("bounds_kernel", "push_kernel", "pop_kernel", "bbvae/coder/")),
    ("classical encoders", ("imagecodecs", "PIL", "Imaging", "classical.py")),
    ("container and checksums", ("container.py", "image_info.py", "crc32", "zlib")),
)
OTHER = "other Python"


def stage_of(filename: str, function: str) -> str:
    where = f"{filename}:{function}"
    for stage, needles in STAGES:
        if any(needle in where for needle in needles):
            return stage
    return OTHER


def stage_seconds(operation) -> dict[str, float]:
    """Seconds per stage of one profiled run of operation (tottime: each function's own time)."""
    profile = cProfile.Profile()
    profile.enable()
    operation()
    profile.disable()
    seconds: dict[str, float] = {}
    for (filename, _line, function), (_calls, _primitive, own, _cumulative, _callers) in pstats.Stats(profile).stats.items():
        stage = stage_of(filename, function)
        seconds[stage] = seconds.get(stage, 0.0) + own
    return seconds


def measure(workload: str, operation_name: str, operation, repeats: int) -> dict:
    wall, _ = best_time(operation, repeats)
    profiled = stage_seconds(operation)
    total = sum(profiled.values()) or 1.0
    row = {"workload": workload, "operation": operation_name, "seconds": wall}
    for stage in [name for name, _ in STAGES] + [OTHER]:
        row[stage] = wall * profiled.get(stage, 0.0) / total
    return row


def process_start(repeats: int = 3) -> float:
    """Seconds of `bbvae --version` (it imports torch and the coder, as every coding command does) in a fresh
    interpreter, best of repeats."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bbvae.cli.main", "--version"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=1000, help="digits coded as one file (default 1000)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line at the end")
    args = parser.parse_args()

    import skimage.data

    import bbvae
    from bbvae import api
    from bbvae.codecs.effort import DEFAULT_EFFORT
    from bbvae.codecs.effort import effort as effort_settings
    from bbvae.datasets.sources import load

    digits = load("mnist", "test")[: args.digits].reshape(-1, 28, 28)
    photo = skimage.data.astronaut()
    workloads = [("digits", digits, 3), ("lone digit", digits[0], 20), ("photograph", photo, 2)]
    rows = []
    for name, images, repeats in workloads:
        data = bbvae.compress(images, verify=False)  # compiles and loads everything once
        bbvae.decompress(data)

        def compress(images=images):
            return bbvae.compress(images, verify=False)

        def checked(images=images):
            return bbvae.compress(images)

        def decompress(data=data):
            return bbvae.decompress(data)

        for operation, function in (("compress, no check", compress), ("compress with check", checked),
                                    ("decompress", decompress)):
            rows.append(measure(name, operation, function, repeats))
            print(f"{name}, {operation}: {rows[-1]['seconds']:.4f} s", flush=True)
    search = effort_settings(DEFAULT_EFFORT)
    header = {"names": None, "metadata": {}, "image_info": None}
    for name, image, repeats in (("lone digit", digits[0], 20), ("photograph", photo, 2)):
        classical, _ = best_time(lambda image=image: api._photo_container([image], None, None, header, 1, None, search), repeats)
        rows.append({"workload": name, "operation": "classical records alone (in threads, unseen by the profiler)",
                     "seconds": classical, "classical encoders": classical})
    start = process_start()
    rows.append({"workload": "any command", "operation": "process start (bbvae --version)", "seconds": start,
                 OTHER: start})
    for row in rows:
        for key in [name for name, _ in STAGES] + [OTHER]:
            row.setdefault(key, 0.0)
    summary = {"digits": len(digits), "digits_compress_per_s": len(digits) / rows[0]["seconds"],
               "digits_decompress_per_s": len(digits) / rows[2]["seconds"],
               "lone_digit_round_trip_ms": 1000 * (rows[4]["seconds"] + rows[5]["seconds"]),
               "photo_compress_s": rows[7]["seconds"], "photo_decompress_s": rows[8]["seconds"],
               "process_start_s": start, "bbvae": bbvae.__version__}
    columns = ["workload", "operation", "seconds"] + [name for name, _ in STAGES] + [OTHER]
    path = write_results("time_profile", summary, rows, markdown_table(rows, columns))
    print(markdown_table(rows, columns))
    print(f"\nresults written to {path}")
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
