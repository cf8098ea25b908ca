"""Microseconds per pixel in the per-pixel head and pixel coding, without the networks or the schedule.

    python benchmarks/pixel_head.py [--digits 512] [--model NAME] [--repeats 5] [--json]

The local-mixture likelihood codes each pixel with a small network over its decoded neighbours
(bbvae/coder/local.py). For a digit codec (the default one unless `--model`) on the first N MNIST test digits (latents: the
posterior means) and for the photo codec on the top half of astronaut (latents: random), it times, best
of `--repeats`: the head's mixtures for every pixel as the encoder computes them (`params`), pushing the
pixels (`push`, mixtures already computed) and popping them back as the decoder does, the head run pixel
by pixel on the pixels just decoded (`pop`), which must give the pixels back, and how often the decoder's
first guess at a value is right (`guess_hits_pct`, with the count that a pop finds taken at the middle of each
value's range). Meant for before/after
comparisons of the coder's kernels: run it with `PYTHONPATH` at two checkouts, alternately.
Results: benchmarks/results/pixel_head.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import time

import numba as nb
import numpy as np

from bbvae.bench.report import markdown_table, write_results
from bbvae.coder import kernels


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=512, help="MNIST test digits, in groups of 16 (default 512)")
    parser.add_argument("--model", help="the digit codec (default: the default one)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON line at the end")
    args = parser.parse_args()
    rows = [_timed(name, codecs, args.repeats) for name, codecs in (_digits(args.digits, args.model), _photo())]
    path = write_results("pixel_head", rows[0], rows, markdown_table(rows, list(rows[0])))
    for row in rows:
        print(f"{row['model']}: {row['params_us']:.3f} us per pixel for the head's mixtures, {row['push_us']:.3f} to push, "
              f"{row['pop_us']:.3f} to pop (head included, first guess right for {row['guess_hits_pct']:.1f}% of "
              f"values), exact {row['exact']} (results in {path})")
    if args.json:
        print(json.dumps(rows))


def _digits(count: int, name: str | None):
    """(name, [LocalMixture of 16 digits, ...]) for a digit codec with the local mixture."""
    from bbvae.datasets.sources import load
    from bbvae.format.precisions import Precisions
    from bbvae.models import arithmetic
    from bbvae.models.likelihoods.local_images import LocalImages
    from bbvae.models.modelfile import DEFAULT_MODEL, load_model

    name = name or DEFAULT_MODEL
    model, _ = load_model(name)
    networks = arithmetic.coding_networks(model, arithmetic.PORTABLE)
    digits = load("mnist", "test")[:count].reshape(-1, 1, 28, 28)
    head = model.head.coding_weights()
    codecs = []
    for first in range(0, len(digits), 16):
        group = digits[first:first + 16]
        features = networks.decode(networks.posterior(group)[0])
        codecs.append(LocalImages(features, head, model.cfg.mixture, 1, Precisions().pixels)._codec(group))
    return name, codecs


def _photo():
    """(name, [LocalMixture of one strip, ...]) for the photo codec on astronaut's top 256 rows."""
    from skimage import data

    from bbvae.codecs.patches import PatchCodec
    from bbvae.format.precisions import PHOTOS
    from bbvae.models.context import with_context
    from bbvae.models.modelfile import PHOTO_MODEL, load_model

    model, _ = load_model(PHOTO_MODEL)
    codec = PatchCodec(model, PHOTOS)
    image = data.astronaut()[:256]
    context = with_context(image.copy())
    rng = np.random.default_rng(0)
    strips = []
    for strip in range(image.shape[0] // codec.patch):
        latents = rng.standard_normal((image.shape[1] // codec.patch, model.cfg.latent)) * 0.5
        pixels = codec._pixels(context, strip, 3, latents)
        strips.append(getattr(pixels, "pixels", pixels))  # the LocalMixture inside the scale shifts
    return PHOTO_MODEL, strips


def _timed(name: str, codecs: list, repeats: int) -> dict:
    from bbvae.coder import Message
    from bbvae.coder.kernels import LOCAL_CONTEXT

    pixels = sum(len(codec.positions) // (1 if codec.replicate else codec.context.shape[2]) for codec in codecs)
    best = [float("inf")] * 3
    exact = True
    for _ in range(repeats + 1):  # the first compiles and warms up
        began = time.perf_counter()
        for codec in codecs:
            codec._unshifted = None
            codec.unshifted_params()
        params = time.perf_counter()
        messages = [codec.push(Message(), codec.values()) for codec in codecs]
        pushed = time.perf_counter()
        for codec, message in zip(codecs, messages):
            original = codec.context.copy()
            codec.context[codec.positions[:, 0] + LOCAL_CONTEXT, codec.positions[:, 1] + LOCAL_CONTEXT, codec.channels] = 0
            codec.pop(message)  # writes the pixels back into the context
            exact &= np.array_equal(codec.context, original)
            codec.context[...] = original
        popped = time.perf_counter()
        best = [min(b, t) for b, t in zip(best, (params - began, pushed - params, popped - pushed))]
    hits = sum(_guess_hits(codec.values(), codec.precision, codec.params()) for codec in codecs)
    return {"model": name, "pixels": pixels, "params_us": best[0] / pixels * 1e6, "push_us": best[1] / pixels * 1e6,
            "pop_us": best[2] / pixels * 1e6, "exact": bool(exact), "repeats": repeats,
            "guess_hits_pct": 100 * hits / sum(len(codec.positions) for codec in codecs)}


def _guess_hits(symbols: np.ndarray, precision: int, params: dict) -> int:
    """How many values the decoder's guess (kernels._guess) finds at once, at the middle of each value's range."""
    return _count_guess_hits(symbols, np.int64(1) << precision, params["a"], params["b"], params["c"])


@nb.njit
def _count_guess_hits(symbols, total, a, b, c):
    hits = 0
    for i in range(symbols.shape[0]):
        start = kernels.cdf_at(kernels.MIXTURE, i, symbols[i], total, kernels.PIXEL_LEVELS, a, b, c, kernels._NO_TABLE)
        end = kernels.cdf_at(kernels.MIXTURE, i, symbols[i] + 1, total, kernels.PIXEL_LEVELS, a, b, c, kernels._NO_TABLE)
        hits += kernels._guess(kernels.MIXTURE, i, (start + end) // 2, total, kernels.PIXEL_LEVELS, a, b, c) == symbols[i]
    return hits


if __name__ == "__main__":
    main()
