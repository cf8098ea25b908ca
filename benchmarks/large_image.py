"""Memory and time for one large photograph: compress and decompress within a memory bound.

    python benchmarks/large_image.py [--side 8000] [--model NAME] [--jobs 2] [--json]

The image is the held-out astronaut photograph tiled (mirrored so that tiles
meet smoothly) to SIDE x SIDE RGB pixels. Compression runs with its check
decode, as the CLI does; decompression decodes the file. Whatever path the file
took, a third phase codes the image on the model path alone and decodes it
again, so the patch codec's own time and memory are measured too. Each phase
runs in a fresh process so that its peak resident memory (ru_maxrss) is its
own; the target is under 4 GB. `--jobs` goes to compress and decompress: a lone photograph is then
coded in that many bands side by side (bbvae/codecs/bands.py); the model path alone uses as many.
Results: benchmarks/results/large_image_SIDE.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from bbvae.models.defaults import PHOTO_MODEL

MEMORY_BOUND_GB = 4.0


def tiled_photo(side: int) -> np.ndarray:
    from bbvae.datasets.photos import TEST_PHOTOS, load_shipped

    photo = load_shipped("test")[TEST_PHOTOS.index("astronaut.png")]
    block = np.concatenate([photo, photo[:, ::-1]], axis=1)
    block = np.concatenate([block, block[::-1]], axis=0)
    reps = -(-side // block.shape[0]), -(-side // block.shape[1])
    return np.ascontiguousarray(np.tile(block, (reps[0], reps[1], 1))[:side, :side])


def _compress(side: int, model: str, jobs: int, out: str) -> dict:
    import bbvae

    image = tiled_photo(side)
    began = time.perf_counter()
    data = bbvae.compress([image], model, jobs=jobs)
    seconds = time.perf_counter() - began
    Path(out).write_bytes(data)
    return {"seconds": seconds, "bytes": len(data), "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            "path": bbvae.api.describe_container(data)["paths"][0]["path"]}


def _decompress(side: int, model: str, jobs: int, out: str) -> dict:
    import bbvae

    data = Path(out).read_bytes()
    began = time.perf_counter()
    image = bbvae.decompress(data, model, jobs=jobs)[0]
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "exact": bool(np.array_equal(image, tiled_photo(side))),
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def _model_path(side: int, model: str, jobs: int, out: str) -> dict:
    from bbvae.codecs import photos as photo_api
    from bbvae.models.modelfile import resolve

    image = tiled_photo(side)
    path = str(resolve(model))
    began = time.perf_counter()
    record = photo_api.model_record(image, path, threads=jobs)
    middle = time.perf_counter()
    decoded = photo_api.decode_record(record, image.shape, path, threads=jobs)
    return {"encode_s": middle - began, "decode_s": time.perf_counter() - middle, "bytes": len(record.to_bytes()),
            "exact": bool(np.array_equal(decoded, image)), "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def _in_fresh_process(function, *args) -> dict:
    """function(*args) in a new process, so that ru_maxrss is that call's peak alone."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def main():
    from bbvae.bench.report import markdown_table, write_results

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=8000)
    parser.add_argument("--model", default=PHOTO_MODEL, help=f"default: {PHOTO_MODEL}")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = str(Path(folder) / "large.bbv")
        encoded = _in_fresh_process(_compress, args.side, args.model, args.jobs, out)
        decoded = _in_fresh_process(_decompress, args.side, args.model, args.jobs, out)
        alone = _in_fresh_process(_model_path, args.side, args.model, args.jobs, out)
    dims = 3 * args.side * args.side
    peaks = (encoded["peak_gb"], decoded["peak_gb"], alone["peak_gb"])
    summary = {"side": args.side, "jobs": args.jobs, "bits_per_dim": 8 * encoded["bytes"] / dims, "path": encoded["path"],
               "compress_s": encoded["seconds"], "decompress_s": decoded["seconds"],
               "exact": decoded["exact"] and alone["exact"], "compress_peak_gb": peaks[0], "decompress_peak_gb": peaks[1],
               "model_path_bpd": 8 * alone["bytes"] / dims, "model_path_encode_s": alone["encode_s"],
               "model_path_decode_s": alone["decode_s"], "model_path_peak_gb": peaks[2],
               "within_bound": max(peaks) < MEMORY_BOUND_GB}
    write_results(f"large_image_{args.side}", summary, [summary], markdown_table([summary], list(summary)))
    print(markdown_table([summary], list(summary)))
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
