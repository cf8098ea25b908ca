"""How many samples per torch call the portable networks should get: time per sample against the batch size.

    python benchmarks/network_batches.py [--samples 64] [--repeats 3] [--json]

For the shipped default models (DEFAULT_MODEL for digits, PHOTO_MODEL for photographs) and `mnist-fast`, `mnist-small` and
`mnist-local`, the digit defaults before, the portable (fixed-point,
float64) encoder and decoder networks code `--samples` random inputs in calls of 1, 2, 4, ... samples each
(the best of `--repeats` runs, torch with its default threads). The summary also counts each model's
multiply-adds per sample (encoder and decoder, from the layers' shapes). Each sample's sums are exact, so the
results do not depend on the batch (bbvae/models/fixed_point.py); only the time does: a batch whose
activations outgrow the caches runs slower per sample. fixed_point.BATCH is set from this table.
Results: benchmarks/results/network_batches.{json,md}.
"""

from __future__ import annotations

import argparse

import numpy as np


def main():
    import bbvae.models.fixed_point as fixed_point
    from bbvae.bench.report import best_time, markdown_table, publish
    from bbvae.models.arithmetic import PortableNetworks
    from bbvae.models.modelfile import DEFAULT_MODEL, PHOTO_MODEL, load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    fixed_point.BATCH = args.samples  # the calls below choose the batch themselves
    rng = np.random.default_rng(0)
    rows = []
    names = (DEFAULT_MODEL, "mnist-fast", "mnist-small", "mnist-local", PHOTO_MODEL)
    summary = {}
    for name in names:
        model, _ = load_model(name)
        summary[f"multiply_adds_per_sample_{name}"] = multiply_adds(model)
        networks = PortableNetworks(model)
        cfg = model.cfg
        pixels = rng.integers(0, 256, (args.samples, cfg.channels, cfg.height, cfg.width)).astype(np.uint8)
        latents = rng.normal(size=(args.samples, cfg.latent))
        batch = 1
        while batch <= args.samples:
            def encoder(batch=batch):
                for start in range(0, args.samples, batch):
                    networks.posterior(pixels[start:start + batch])

            def decoder(batch=batch):
                for start in range(0, args.samples, batch):
                    networks.decode(latents[start:start + batch])
            encoder(), decoder()  # warm-up
            encoder_s, _ = best_time(encoder, args.repeats)
            decoder_s, _ = best_time(decoder, args.repeats)
            rows.append({"model": name, "batch": batch, "encoder_ms_per_sample": 1000 * encoder_s / args.samples,
                         "decoder_ms_per_sample": 1000 * decoder_s / args.samples,
                         "both_ms_per_sample": 1000 * (encoder_s + decoder_s) / args.samples})
            print(markdown_table(rows[-1:], list(rows[-1])), flush=True)
            batch *= 2
    for name in names:
        fastest = min((row for row in rows if row["model"] == name), key=lambda row: row["both_ms_per_sample"])
        summary[f"fastest_batch_{name}"] = fastest["batch"]
    publish("network_batches", summary, rows, args.json)


def multiply_adds(model) -> int:
    """Multiply-adds of one sample through the encoder and the decoder, counted from each layer's shapes on a
    forward pass of one input."""
    import torch
    from torch import nn

    total = 0

    def count(layer, inputs, output):
        nonlocal total
        if isinstance(layer, nn.Conv2d):
            total += output.numel() * layer.in_channels // layer.groups * layer.kernel_size[0] * layer.kernel_size[1]
        elif isinstance(layer, nn.ConvTranspose2d):
            total += inputs[0].numel() * layer.out_channels * layer.kernel_size[0] * layer.kernel_size[1]
        elif isinstance(layer, nn.Linear):
            total += layer.in_features * layer.out_features
    layers = [m for m in (*model.encoder.modules(), *model.decoder.modules()) if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    hooks = [layer.register_forward_hook(count) for layer in layers]
    cfg = model.cfg
    with torch.no_grad():
        model.encoder(torch.zeros(1, cfg.channels, cfg.height, cfg.width))
        model.decoder(torch.zeros(1, cfg.latent))
    for hook in hooks:
        hook.remove()
    return total


if __name__ == "__main__":
    main()
