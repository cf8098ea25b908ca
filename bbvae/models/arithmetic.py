"""Which arithmetic computes the numbers a file is coded with; the container records it.

PORTABLE: the fixed-point networks of bbvae/models/fixed_point.py and the coder's exact
elementary functions (kernels.exact_exp and friends): the same bits on every machine,
so a file decodes anywhere (docs/ARITHMETIC.md). What every new file uses.

LEGACY: torch's float32 networks and libm, as every file of format versions 1 and 2
was coded. Its results depend on the CPU, the thread count and the torch release, so
such a file decodes only where its arithmetic matches the encoder's; it stays for
those files.
"""

from __future__ import annotations

import numpy as np
import torch

from bbvae.coder.codecs import exact_exp
from bbvae.format.container import LEGACY_ARITHMETIC, PORTABLE_ARITHMETIC
from bbvae.models import recall
from bbvae.models.fixed_point import FixedPointNetwork, FixedPointVAE, gaussian_outputs
from bbvae.models.likelihoods.logistic import logistic_parameters
from bbvae.models.vae import VAE

LEGACY, PORTABLE = LEGACY_ARITHMETIC, PORTABLE_ARITHMETIC
NAMES = {LEGACY: "legacy float32", PORTABLE: "portable fixed-point"}


def canonical_tensor(array: np.ndarray) -> torch.Tensor:
    """A fresh C-ordered copy: equal pixels must reach torch with equal strides.

    A size-1 axis may carry any stride in numpy (0 after `x[:, None]`, 1 after a
    transpose); torch then picks different convolution kernels (channels-last or
    not), whose float results differ, and the decoder would not match the encoder.
    """
    return torch.from_numpy(np.array(array, order="C", copy=True))


class TorchNetworks:
    """The coding networks of a VAE in torch float32 (the LEGACY arithmetic), exactly as files of format
    versions 1 and 2 were coded; results are float64 numpy arrays."""

    def __init__(self, model: VAE):
        self.model = model

    def posterior(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, log_std = self.model.posterior(canonical_tensor(pixels))
        return mean.double().numpy(), log_std.double().exp().numpy()

    def decode(self, latents: np.ndarray) -> np.ndarray:
        return self.model.decode(canonical_tensor(latents.astype(np.float32))).double().numpy()

    @staticmethod
    def logistic(out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, log_scale = logistic_parameters(*torch.from_numpy(out.astype(np.float32)).chunk(2, dim=1))
        return mean.double().numpy(), log_scale.double().exp().numpy()

    def second_stage(self, part: str, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of the two-stage prior's q(u|z) (`posterior`) or p(z|u) (`likelihood`)."""
        mean, log_std = getattr(self.model.prior, part)(canonical_tensor(inputs.astype(np.float32)))
        return mean.double().numpy(), log_std.double().exp().numpy()


class PortableNetworks(FixedPointVAE):
    """The coding networks in the PORTABLE arithmetic, with the two-stage prior's networks when it has them.

    The encoder and decoder networks hand a compress call's check decode the results its encoding
    computed for the same inputs (bbvae/models/recall.py): their bits are the same either way.
    """

    def __init__(self, model: VAE):
        super().__init__(model)
        self.model = model
        self.stage: dict[str, FixedPointNetwork] = {}

    def posterior(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return recall.recalled(self, "posterior", pixels, super().posterior)

    def decode(self, latents: np.ndarray) -> np.ndarray:
        return recall.recalled(self, "decode", latents, super().decode)

    def second_stage(self, part: str, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of the two-stage prior's q(u|z) (`posterior`) or p(z|u) (`likelihood`)."""
        if part not in self.stage:
            self.stage[part] = FixedPointNetwork(getattr(self.model.prior, "encoder" if part == "posterior" else "decoder"))
        mean, log_std = gaussian_outputs(self.stage[part](np.asarray(inputs, dtype=np.float64)).numpy())
        return mean, exact_exp(log_std)


def coding_networks(model: VAE, arithmetic: int) -> TorchNetworks | PortableNetworks:
    if arithmetic == PORTABLE:
        return PortableNetworks(model)
    if arithmetic == LEGACY:
        return TorchNetworks(model)
    raise ValueError(f"unknown arithmetic {arithmetic}")
