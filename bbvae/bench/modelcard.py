"""Write a model's card (README.md beside its weights) from a fresh evaluation and its training log.

    bbvae card models/NAME [--iwae-samples 100] [--command "bbvae train ..."]

The test figures are measured here, recorded in the model file's info (the
weights and fingerprint do not change) and written into the card, so every
number on it comes from this command.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from bbvae.models.evaluate import evaluate
from bbvae.models.modelfile import load_model, save_model
from bbvae.training.sets import evaluation_set
from bbvae.training.train import LOG_NAME


def write_card(folder: Path, iwae_samples: int, command: str | None) -> Path:
    model, info = load_model(folder)
    facts = dict(info.info)
    images, coded = evaluation_set(info, facts["dataset"], "test")
    what = f"{len(images)} patches of the held-out photographs" if info.config.patches else f"{len(images)} test images"
    result = evaluate(model, images, iwae_samples, coded=coded, as_coded=True)
    facts.update(test_elbo_bpd=result["elbo_bpd"], test_iwae_bpd=result["iwae_bpd"], iwae_samples=iwae_samples)
    if command:
        facts["command"] = command
    save_model(folder / "model.safetensors", model, facts, info.codec)
    log = [json.loads(line) for line in (folder / LOG_NAME).read_text().splitlines()] if (folder / LOG_NAME).exists() else []
    params = sum(p.numel() for p in model.parameters())
    lines = [
        f"# Model card: {folder.name}",
        "",
        f"- Data: `{facts['dataset']}` (train split for training; the figures below are on all {what})"
        + (f"; more training photographs from `--extra-photos {facts['extra_photos']}`" if facts.get("extra_photos") else ""),
        f"- Architecture: {json.dumps(info.config.to_dict())}, {params:,} parameters, "
        f"{(folder / 'model.safetensors').stat().st_size / 1e6:.1f} MB",
        f"- Trained with: `{facts.get('command', 'bbvae train --dataset ' + facts['dataset'])}`",
        *([f"- Started from the weights of `{facts['init_from']}`"
           + (f" (fingerprint `{facts['init_from_fingerprint']}`)" if facts.get("init_from_fingerprint") else "")]
          if facts.get("init_from") else []),
        f"- Epochs: {facts.get('epochs')}; batch size {facts.get('batch_size')}, learning rate {facts.get('lr')} "
        f"(cosine decay), seed {facts.get('seed')}",
        f"- Training time: {facts.get('train_seconds', 0) / 60:.0f} minutes on {facts.get('device', '?')} "
        f"({facts.get('processes', 1)} process(es), one torch thread each on a 2-core machine)"
        + (", on top of the model it started from" if facts.get("init_from") else ""),
        f"- Test negative ELBO: **{result['elbo_bpd']:.4f} bits/dim**; IWAE (k={iwae_samples}): "
        f"**{result['iwae_bpd']:.4f} bits/dim**",
        f"- Fingerprint: `{info.fingerprint}`",
        "",
        f"Measured by `bbvae card {folder} --iwae-samples {iwae_samples}` "
        f"(torch {torch.__version__}).",
    ]
    if log:
        lines += ["", "## Training log (test negative ELBO after each epoch)", "",
                  "| epoch | train bits/dim | test -ELBO bits/dim | minutes |", "|---|---|---|---|"]
        lines += [f"| {r['epoch']} | {r['train_bpd']:.4f} | {r['test_elbo_bpd']:.4f} | {r['seconds'] / 60:.0f} |" for r in log]
    card = folder / "README.md"
    card.write_text("\n".join(lines) + "\n")
    return card

