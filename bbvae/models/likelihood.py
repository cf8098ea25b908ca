"""Discretized logistic log-likelihood of 8-bit pixels, in torch (docs/ARCHITECTURE.md, the models layer).

Training minimises exactly this discrete likelihood, so its loss in bits/dim is
the rate the ANS coder reaches (up to quantisation of the CDF).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

MAX_PIXEL = 255


def discretized_logistic_logp(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """Log-probability (nats) of integer pixels x in 0..255 under a logistic per pixel.

    Bin k covers [k - 0.5, k + 0.5]; bins 0 and 255 take the whole tails. The
    interior uses log(sigmoid(a) - sigmoid(b)) = logsigmoid(a) + logsigmoid(-b)
    + log(-expm1(-1/s)), which is exact and does not underflow.
    """
    x = x.to(mean.dtype)
    inv_scale = torch.exp(-log_scale)
    upper = (x + 0.5 - mean) * inv_scale
    lower = (x - 0.5 - mean) * inv_scale
    log_cdf_upper = F.logsigmoid(upper)
    log_survival_lower = F.logsigmoid(-lower)
    interior = log_cdf_upper + log_survival_lower + torch.log(-torch.expm1(-inv_scale))
    return torch.where(x <= 0, log_cdf_upper, torch.where(x >= MAX_PIXEL, log_survival_lower, interior))

