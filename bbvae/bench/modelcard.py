"""Write a model's card (README.md beside its weights) from a fresh evaluation and its training log.

    bbvae card models/NAME [--iwae-samples 100] [--command "bbvae train ..."]

The test figures are measured here, recorded in the model file's info (the
weights and fingerprint do not change) and written into the card, so every
number on it comes from this command. `--limitations-only` rewrites only the card's
"Intended use and limitations" section (training data counted from its sources), keeping the rest.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from bbvae.models.evaluate import evaluate
from bbvae.models.modelfile import load_model, save_model
from bbvae.training.sets import evaluation_set, split_off_validation
from bbvae.training.train import LOG_NAME

# what the cards of models trained before `bbvae train` recorded its machine said: all were trained so
TRAINED_BEFORE_MACHINES_WERE_RECORDED = "one torch thread each on a 2-core machine"


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
    log = _training_log(folder)
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
        f"({facts.get('processes', 1)} process(es), {facts.get('machine', TRAINED_BEFORE_MACHINES_WERE_RECORDED)})"
        + (", on top of the model it started from" if facts.get("init_from") else ""),
        f"- Test negative ELBO: **{result['elbo_bpd']:.4f} bits/dim**; IWAE (k={iwae_samples}): "
        f"**{result['iwae_bpd']:.4f} bits/dim**",
        f"- Fingerprint: `{info.fingerprint}`",
        "",
        f"Measured by `bbvae card {folder} --iwae-samples {iwae_samples}` "
        f"(torch {torch.__version__}).",
    ]
    held_out = _held_out_of(log)
    lines += ["", *intended_use(info, held_out), *training_sources(facts["dataset"])]
    if log:
        lines += ["", f"## Training log ({held_out} negative ELBO after each epoch)", "",
                  f"| epoch | train bits/dim | {held_out} -ELBO bits/dim | minutes |", "|---|---|---|---|"]
        lines += [f"| {r['epoch']} | {r['train_bpd']:.4f} | {r['test_elbo_bpd']:.4f} | {r['seconds'] / 60:.0f} |" for r in log]
    card = folder / "README.md"
    card.write_text("\n".join(lines) + "\n")
    return card



def _training_log(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / LOG_NAME).read_text().splitlines()] if (folder / LOG_NAME).exists() else []


def _held_out_of(log: list[dict]) -> str:
    """The split a training log's per-epoch figures are on ("test" in logs from before the key existed)."""
    return log[-1].get("held_out", "test") if log else "test"


LIMITATIONS = "## Intended use and limitations"
SOURCES = "## Training sources"


def training_sources(dataset: str) -> list[str]:
    """The card's list of every training photograph of a `bbvae photoset` folder: its package, version and
    SHA-256s, read from the folder's manifest.json (nothing for other datasets)."""
    manifest_file = Path(dataset) / "manifest.json"
    if not manifest_file.is_file():
        return []
    manifest = json.loads(manifest_file.read_text())
    packages = manifest["packages"]
    lines = ["", SOURCES, "",
             "The train split of a `bbvae photoset` build (docs/DATASETS.md). Packages (the .deb files' SHA-256 pins the "
             "exact files):", "",
             "| package | version | Debian suite | .deb SHA-256 | licence |", "|---|---|---|---|---|"]
    for name, facts in packages.items():
        lines.append(f"| {facts.get('package', name)} | {facts['version']} | {facts.get('suite', '')} | "
                     f"{facts.get('deb_sha256', '(a Python wheel)')} | {facts['licence']} |")
    lines += ["", "| training photograph | package | path inside it | source file SHA-256 | written PNG SHA-256 |",
              "|---|---|---|---|---|"]
    lines += [f"| {r['file']} | {r['package']} {r['version']} | {r['path']} | {r['source_sha256']} | {r['png_sha256']} |"
              for r in manifest["photographs"] if r["split"] == "train"]
    return lines


def _training_data(facts: dict, patches: bool, held_out: str) -> str:
    """What the model was trained on, counted from the sources themselves; held_out: what its training log
    reported on (whole-image sets have held out validation from their train split since it says "validation")."""
    from bbvae.datasets import sources

    dataset = facts["dataset"]
    if not patches:
        shipped = len(sources.load(dataset, "train"))
        if held_out != "validation":  # trained before `bbvae train` held out validation: on the whole split
            return f"the {shipped:,} train images of `{dataset}` ({sources.describe_source(dataset)})"
        train, validation = (len(part) for part in split_off_validation(np.empty(shipped)))
        return (f"the first {train:,} of the {shipped:,} train images of `{dataset}` ({sources.describe_source(dataset)}); "
                f"the last {validation:,} were held out as validation")
    count = len(sources.load_photos(dataset, "train"))
    text = f"{count} photographs: the train split of `{dataset}` ({sources.describe_source(dataset)})"
    extra = facts.get("extra_photos")
    if extra:
        found = len(sources.load_all_photos(extra)) if Path(extra).is_dir() else None
        text += f", and {found if found is not None else 'the'} photographs of `--extra-photos {extra}`"
    return text


def _shipped_set_caveats(dataset: str | None) -> str:
    """What the shipped photo set's own split costs a card's figures (bbvae photoset is the honest protocol)."""
    if dataset != "photos":
        return ""
    from bbvae.datasets.photos import TEST_PHOTOS, TRAIN_PHOTOS

    jpegs = sum(name.endswith(".jpg") for name in TRAIN_PHOTOS)
    return (f" {jpegs} of the training photographs are JPEG files, block artefacts included. The test figures are on "
            f"{', '.join(name.rsplit('.', 1)[0] for name in TEST_PHOTOS)}, which also served to choose between models "
            "during training, so they are optimistic (docs/DATASETS.md: `bbvae photoset` keeps validation and test apart).")


def intended_use(info, held_out: str) -> list[str]:
    """The card's section on what the model is for, what it was trained on and where it falls short."""
    patches = info.config.patches
    if patches:
        use = ("8-bit grey and RGB photographs of any size (alpha is stored as PNG beside them); palette and bilevel "
               "images, and any image the model would code larger, take the PNG or WebP path instead.")
        limits = ("A small training set: rates on photographs unlike it (screenshots, drawings, scans, heavy sensor "
                  "noise) are nearer PNG and WebP, and the file falls back to them where they are smaller."
                  + _shipped_set_caveats(info.info.get("dataset")))
    else:
        shape = f"{info.config.height}x{info.config.width}"
        use = (f"{shape} images like its training set, coded together in one file (a set of them pays the initial "
               "bits once); any other size takes another codec.")
        limits = "Images unlike the training set (other content, other sizes) code poorly or not at all."
    return [LIMITATIONS, "", f"- Intended use: {use}", f"- Trained on: {_training_data(dict(info.info), patches, held_out)}.",
            f"- Limitations: {limits}"]


def write_limitations(folder: Path) -> Path:
    """Replace (or add, before the training log) the card's intended-use section; nothing is re-measured."""
    _, info = load_model(folder)
    card = folder / "README.md"
    text = card.read_text() if card.exists() else f"# Model card: {folder.name}\n"
    section = "\n".join(intended_use(info, _held_out_of(_training_log(folder)))) + "\n"
    if LIMITATIONS in text:
        before, rest = text.split(LIMITATIONS, 1)
        after = rest[rest.find("\n## "):] if "\n## " in rest else ""
        text = before + section + after
    elif "\n## Training log" in text:
        before, after = text.split("\n## Training log", 1)
        text = before.rstrip("\n") + "\n\n" + section + "\n## Training log" + after
    else:
        text = text.rstrip("\n") + "\n\n" + section
    card.write_text(text)
    return card
