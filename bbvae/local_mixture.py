"""The photo likelihood: a mixture of discretized logistics with local autoregressive means.

Given the latent, the decoder outputs per pixel and channel c: K mixture
logits, K mean offsets, K log-scales, and 4C coefficients. The prediction

    pred_c = 128 + sum over n in (left, up, up-left), c' of coef[n, c'] * (neighbour_n[c'] - 128)
                 + sum over c' < c of coef[3, c'] * (pixel[c'] - 128)

uses only pixels the decoder already has (bbvae/photos.py gives every pixel
those neighbours), so channels are conditioned on each other (PixelCNN++) and
on the pixels around them; component k's mean is pred_c + MEAN_SCALE * offset_k.
Training (this module, torch) and coding (bbvae/coder/local_kernels.py, numba)
use the same formula; the coder's exact integer CDF is what encoder and decoder
share.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .likelihood import discretized_logistic_logp

CENTRE = 128.0
MEAN_SCALE = 32.0        # offsets are small next to the prediction: keep the raw outputs near unit size
LOG_SCALE_OFFSET = 2.0   # residual scales start around e^2 ~ 7 levels
LOG_SCALE_MIN = -3.0
NEIGHBOURS = 3           # left, up, up-left


def outputs_per_channel(channels: int, mixture: int) -> int:
    """Decoder outputs per pixel and channel: logits, offsets, log-scales (K each) and 4C coefficients."""
    return 3 * mixture + (NEIGHBOURS + 1) * channels


def initial_bias(channels: int, mixture: int) -> torch.Tensor:
    """Start by predicting each channel as the mean of its left and upper neighbours."""
    per = outputs_per_channel(channels, mixture)
    bias = torch.zeros(channels, per)
    for c in range(channels):
        bias[c, 3 * mixture + 0 * channels + c] = 0.5  # left, same channel
        bias[c, 3 * mixture + 1 * channels + c] = 0.5  # up, same channel
    return bias.reshape(-1)


def split_outputs(raw: torch.Tensor, channels: int, mixture: int):
    """(B, C * per, H, W) -> logits, offsets, log_scales (B, C, K, H, W) and coefficients (B, C, 4C, H, W)."""
    b, _, h, w = raw.shape
    raw = raw.view(b, channels, outputs_per_channel(channels, mixture), h, w)
    k = mixture
    logits, offsets, raw_log_scales = raw[:, :, :k], raw[:, :, k:2 * k], raw[:, :, 2 * k:3 * k]
    log_scales = torch.clamp(raw_log_scales + LOG_SCALE_OFFSET, min=LOG_SCALE_MIN)
    return logits, offsets, log_scales, raw[:, :, 3 * k:]


def predictions(context: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
    """pred (B, C, H, W) from pixels with context (B, C, H+1, W+1) and coefficients (B, C, 4C, H, W)."""
    x = context[:, :, 1:, 1:]
    neighbours = torch.cat([context[:, :, 1:, :-1], context[:, :, :-1, 1:], context[:, :, :-1, :-1]], 1) - CENTRE
    channels = x.shape[1]
    pred = CENTRE + (coefficients[:, :, :NEIGHBOURS * channels] * neighbours[:, None]).sum(2)
    earlier = torch.tril(torch.ones(channels, channels, dtype=x.dtype, device=x.device), diagonal=-1)
    current = coefficients[:, :, NEIGHBOURS * channels:] * earlier[None, :, :, None, None]
    return pred + (current * (x - CENTRE)[:, None]).sum(2)


def log_prob(context: torch.Tensor, raw: torch.Tensor, mixture: int) -> torch.Tensor:
    """Log-probability (nats) of every pixel value, (B, C, H, W), given the decoder's raw outputs."""
    context = context.to(raw.dtype)
    channels = context.shape[1]
    logits, offsets, log_scales, coefficients = split_outputs(raw, channels, mixture)
    means = predictions(context, coefficients)[:, :, None] + MEAN_SCALE * offsets
    x = context[:, :, None, 1:, 1:]
    per_component = discretized_logistic_logp(x, means, log_scales)
    return torch.logsumexp(F.log_softmax(logits, dim=2) + per_component, dim=2)
