"""What a pixel likelihood p(x|z) is to bbvae: its decoder outputs, its torch log-probability, and its codec.

Each likelihood is one class in one file of this package, registered by name
(bbvae/models/likelihoods/__init__.py imports them all). Two independent choices
of ModelConfig pick it: `mixture` (logistic components per value) and
`local_neighbours` (how many decoded neighbours each value's distribution reads;
0: none). Training asks the likelihood for log p(x|z) (bbvae/models/vae.py);
coding asks it for the codec of the pixels given the decoder's outputs
(bbvae/codecs/images.py), computed in the arithmetic the file records. Adding a
likelihood is one class in one new file here, plus its test.
"""

from __future__ import annotations

from typing import Callable

import torch

LIKELIHOODS: dict[str, type["Likelihood"]] = {}


def register(cls: type["Likelihood"]) -> type["Likelihood"]:
    LIKELIHOODS[cls.name] = cls
    return cls


def likelihood_for(cfg) -> "Likelihood":
    """The registered likelihood that describes the config's choices."""
    matches = [cls for cls in LIKELIHOODS.values() if cls.describes(cfg)]
    if len(matches) != 1:
        raise ValueError(f"no single likelihood for mixture={cfg.mixture}, local_neighbours={cfg.local_neighbours}")
    return matches[0](cfg)


class Likelihood:
    name = ""

    def __init__(self, cfg):
        self.cfg = cfg

    @classmethod
    def describes(cls, cfg) -> bool:
        raise NotImplementedError

    def outputs(self) -> int:
        """The decoder's output channels per pixel."""
        raise NotImplementedError

    def build(self, model) -> None:
        """Register the likelihood's own parameters on the VAE, under the names its model files use."""

    def log_prob(self, model, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """log p(x|z) in nats of every value (B, C, H, W), from the decoder's outputs `out`."""
        raise NotImplementedError

    def coding(self, model, networks, precision: int, legacy: bool) -> Callable:
        """decoder outputs (N, outputs, H, W) as float64 -> the codec of N images (N, C, H, W); `networks`: the
        model's coding networks in the file's arithmetic, `precision`: bits of each value's distribution."""
        raise NotImplementedError
