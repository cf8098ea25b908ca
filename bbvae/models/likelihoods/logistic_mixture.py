"""A mixture of K discretized logistics per value, all from the decoder (no decoded neighbours read).

Per channel, the decoder gives K logits, K means and K log scales (in that
order of blocks of C * K channels). The coder's MixtureDiscretizedLogistic codes
under it with the exact elementary functions, so its files are portable. No file
made before portable coding has this likelihood, so it has no legacy arithmetic.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from bbvae.coder import MixtureDiscretizedLogistic
from bbvae.coder.codecs import exact_exp
from bbvae.models.likelihoods.base import Likelihood, register
from bbvae.models.likelihoods.logistic import LOG_SCALE_MIN, LOG_SCALE_OFFSET, discretized_logistic_logp, logistic_parameters


@register
class LogisticMixture(Likelihood):
    name = "logistic-mixture"

    @classmethod
    def describes(cls, cfg) -> bool:
        return cfg.mixture > 1 and not cfg.local

    def outputs(self) -> int:
        return 3 * self.cfg.mixture * self.cfg.channels

    def _parts(self, out):
        """(logits, raw means, raw log scales), each (B, C, K, H, W)."""
        b, _, h, w = out.shape
        parts = out.reshape(b, 3, self.cfg.channels, self.cfg.mixture, h, w)
        return parts[:, 0], parts[:, 1], parts[:, 2]

    def log_prob(self, model, x, out):
        logits, raw_means, raw_log_scales = self._parts(out)
        means, log_scales = logistic_parameters(raw_means, raw_log_scales)
        per_component = discretized_logistic_logp(x[:, :, None], means, log_scales)
        return torch.logsumexp(F.log_softmax(logits, dim=2) + per_component, dim=2)

    def coding(self, model, networks, precision: int, legacy: bool):
        if legacy:
            raise ValueError("the logistic mixture likelihood has no legacy arithmetic (no such files exist)")

        def codec(out: np.ndarray) -> MixtureDiscretizedLogistic:
            logits, raw_means, raw_log_scales = (np.moveaxis(part, 2, -1) for part in self._parts(out))
            weights = exact_exp(logits - logits.max(axis=-1, keepdims=True))
            scales = exact_exp(np.maximum(raw_log_scales + LOG_SCALE_OFFSET, LOG_SCALE_MIN))
            return MixtureDiscretizedLogistic(weights, 127.5 * (raw_means + 1.0), scales, precision)

        return codec
