"""What portable coding costs: the same images coded in the portable fixed-point arithmetic and in the legacy
float32 one, side by side in one process (docs/ARITHMETIC.md).

    python benchmarks/arithmetic_speed.py [--digits 1000] [--threads 1]

Digits: the first DIGITS MNIST test digits as one set with the default digit codec. Photograph: the
held-out astronaut (scikit-image) with the `photo` codec. Each is encoded and decoded once per arithmetic,
after a warm-up, with torch on THREADS threads; rates in bits/dim. Results: results/arithmetic_speed.{json,md}.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from bbvae.bench.report import markdown_table, write_results
from bbvae.codecs.build import codec_for
from bbvae.codecs.images import VAECodec
from bbvae.coder import Message
from bbvae.datasets import sources as data
from bbvae.format.precisions import PHOTOS, Precisions
from bbvae.models.arithmetic import LEGACY, NAMES, PORTABLE
from bbvae.models.modelfile import DEFAULT_MODEL, FIRST_LATENT_BITS, PHOTO_MODEL, load_model, resolve

COLUMNS = ["input", "arithmetic", "bpd", "encode_s", "decode_s", "encode_per_s", "decode_per_s"]


def _timed(encode, decode, items: int, samples: int, name: str, arithmetic: int) -> dict:
    began = time.perf_counter()
    message = encode()
    encode_s = time.perf_counter() - began
    began = time.perf_counter()
    decode(Message.from_bytes(message.to_bytes()))
    decode_s = time.perf_counter() - began
    return {"input": name, "arithmetic": NAMES[arithmetic], "bpd": message.bits / samples, "encode_s": encode_s,
            "decode_s": decode_s, "encode_per_s": items / encode_s, "decode_per_s": items / decode_s}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from skimage import data as photographs

    digits = data.load("mnist", "test")[:args.digits]
    astronaut = np.ascontiguousarray(photographs.astronaut())
    model, info = load_model(DEFAULT_MODEL)
    rows = []
    for arithmetic in (PORTABLE, LEGACY):
        codec = VAECodec(model, Precisions.for_images(len(digits)), first_bits=info.codec.get(FIRST_LATENT_BITS),
                         arithmetic=arithmetic)
        codec.decode(Message.from_bytes(codec.encode(digits[:3]).to_bytes()), 3)  # warm-up: kernels compiled
        rows.append(_timed(lambda: codec.encode(digits), lambda m: codec.decode(m, len(digits)), len(digits),
                           digits.size, f"{len(digits)} digits", arithmetic))
        photo = codec_for(str(resolve(PHOTO_MODEL)), PHOTOS, arithmetic)
        photo.encode(astronaut[:40, :40])
        rows.append(_timed(lambda: photo.encode(astronaut), lambda m: photo.decode(m, 512, 512, 3), 1, astronaut.size,
                           "astronaut 512x512", arithmetic))
    table = markdown_table(rows, COLUMNS)
    summary = {"threads": args.threads, "digits": args.digits,
               "digit_slowdown_encode": rows[2]["encode_per_s"] / rows[0]["encode_per_s"],
               "digit_slowdown_decode": rows[2]["decode_per_s"] / rows[0]["decode_per_s"],
               "photo_slowdown_encode": rows[1]["encode_s"] / rows[3]["encode_s"],
               "photo_slowdown_decode": rows[1]["decode_s"] / rows[3]["decode_s"]}
    write_results("arithmetic_speed", summary, rows, table)
    print(table)
    print(summary)


if __name__ == "__main__":
    main()
