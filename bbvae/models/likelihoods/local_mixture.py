"""The photo likelihood: a mixture of discretized logistics driven by the latent and the causal neighbours.

For each pixel, a small network (LocalHead) mixes the decoder's features at
that pixel (which depend on the latent only) with its already-decoded
neighbours (the model's first `neighbours` of NEIGHBOURS: left, up, up-left, up-right, left-left, up-up,
then four more two columns or two rows away; every channel):

    hidden = relu(features + W_in (neighbours - 128) / 64)
    hidden = hidden + relu(W_mid hidden + b_mid)      (for each of its layers - 1 residual layers)
    outputs = W_out hidden + b_out

and reads, per channel c, K mixture logits, K mean offsets, K log-scales and
coefficients of a linear prediction

    pred_c = 128 + sum over neighbours n, channels d of coef[n, d] * (neighbour_n[d] - 128)
                 + sum over d < c of coef[current, d] * (pixel[d] - 128)

so channels are conditioned on each other (PixelCNN++) and the scale adapts to
the local texture (as in LOCO-I's contexts). Component k's mean is
pred_c + MEAN_SCALE * offset_k. Training runs this in torch; coding runs the
same formula in Numba (bbvae/coder/kernels.py, which also holds the
constants), where encoder and decoder share one routine.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bbvae.coder.kernels import LOCAL_CENTRE as CENTRE
from bbvae.coder.kernels import LOCAL_CONTEXT as CONTEXT
from bbvae.coder.kernels import LOCAL_CONTEXT_RIGHT as CONTEXT_RIGHT
from bbvae.coder.kernels import LOCAL_INPUT_SCALE as INPUT_SCALE
from bbvae.coder.kernels import LOCAL_LOG_SCALE_MAX as LOG_SCALE_MAX
from bbvae.coder.kernels import LOCAL_LOG_SCALE_MIN as LOG_SCALE_MIN
from bbvae.coder.kernels import LOCAL_LOG_SCALE_OFFSET as LOG_SCALE_OFFSET
from bbvae.coder.kernels import LOCAL_MEAN_SCALE as MEAN_SCALE
from bbvae.coder.kernels import LOCAL_NEIGHBOURS as NEIGHBOURS
from bbvae.coder.kernels import local_outputs_per_channel as outputs_per_channel
from bbvae.models.likelihoods.base import Likelihood, register
from bbvae.models.likelihoods.local_images import LocalImages
from bbvae.models.likelihoods.logistic import discretized_logistic_logp


def image_part(context: torch.Tensor) -> torch.Tensor:
    """The pixels (B, C, H, W) of inputs with context (B, C, H+2, W+4)."""
    return context[:, :, CONTEXT:, CONTEXT:context.shape[3] - CONTEXT_RIGHT]


def neighbour_planes(context: torch.Tensor, count: int) -> torch.Tensor:
    """(B, C, H+2, W+4) pixels with context -> (B, count * C, H, W): the first `count` neighbours' values minus 128."""
    h, w = context.shape[2] - CONTEXT, context.shape[3] - CONTEXT - CONTEXT_RIGHT
    planes = [context[:, :, CONTEXT + dy:CONTEXT + dy + h, CONTEXT + dx:CONTEXT + dx + w] for dy, dx in NEIGHBOURS[:count]]
    return torch.cat(planes, 1) - CENTRE


class LocalHead(nn.Module):
    """Per-pixel network from (decoder features, neighbours) to the mixture's raw parameters."""

    def __init__(self, channels: int, mixture: int, hidden: int, neighbours: int, layers: int = 1):
        super().__init__()
        self.channels, self.mixture, self.neighbours = channels, mixture, neighbours
        self.inputs = nn.Linear(neighbours * channels, hidden, bias=False)
        self.middle = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers - 1))
        self.out = nn.Linear(hidden, channels * outputs_per_channel(channels, mixture, neighbours))
        with torch.no_grad():
            self.out.weight.mul_(0.1)
            self.out.bias.copy_(self._initial_bias())
            for layer in self.middle:  # residual layers start near the identity (so they can grow a trained head)
                layer.weight.mul_(0.1)
                layer.bias.zero_()

    def _initial_bias(self) -> torch.Tensor:
        """Start by predicting each channel as the mean of its left and upper neighbours."""
        c_all, k = self.channels, self.mixture
        bias = torch.zeros(c_all, outputs_per_channel(c_all, k, self.neighbours))
        for c in range(c_all):
            bias[c, 3 * k + 0 * c_all + c] = 0.5  # left, same channel
            bias[c, 3 * k + 1 * c_all + c] = 0.5  # up, same channel
        return bias.reshape(-1)

    def coding_weights(self) -> dict:
        """The weights as float64 numpy arrays, named as the coder's LocalMixture takes them
        (w_mid and b_mid only when there are residual layers: LocalMixture's default is none)."""
        tensors = {"w_in": self.inputs.weight, "w_out": self.out.weight, "b_out": self.out.bias}
        if len(self.middle):
            tensors["w_mid"] = torch.stack([layer.weight for layer in self.middle])
            tensors["b_mid"] = torch.stack([layer.bias for layer in self.middle])
        return {name: t.detach().double().cpu().numpy() for name, t in tensors.items()}

    def forward(self, neighbours: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Raw outputs (B, C * per, H, W) from neighbour_planes (B, NC, H, W) and features (B, hidden, H, W)."""
        hidden = F.relu(features + torch.einsum("oi,bihw->bohw", self.inputs.weight, neighbours * INPUT_SCALE))
        for layer in self.middle:
            hidden = hidden + F.relu(torch.einsum("oi,bihw->bohw", layer.weight, hidden) + layer.bias[None, :, None, None])
        return torch.einsum("oi,bihw->bohw", self.out.weight, hidden) + self.out.bias[None, :, None, None]

    def log_prob(self, context: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Log-probability (nats) of every pixel value, (B, C, H, W), from context (B, C, H+2, W+4)."""
        context = context.to(features.dtype)
        neighbours = neighbour_planes(context, self.neighbours)
        raw = self.forward(neighbours, features)
        b, _, h, w = raw.shape
        c_all, k = self.channels, self.mixture
        raw = raw.view(b, c_all, outputs_per_channel(c_all, k, self.neighbours), h, w)
        logits, offsets = raw[:, :, :k], raw[:, :, k:2 * k]
        log_scales = torch.clamp(raw[:, :, 2 * k:3 * k] + LOG_SCALE_OFFSET, LOG_SCALE_MIN, LOG_SCALE_MAX)
        coefficients = raw[:, :, 3 * k:]
        x = image_part(context)
        n = self.neighbours * c_all
        pred = CENTRE + (coefficients[:, :, :n] * neighbours[:, None]).sum(2)
        earlier = torch.tril(torch.ones(c_all, c_all, dtype=x.dtype, device=x.device), diagonal=-1)
        pred = pred + (coefficients[:, :, n:] * earlier[None, :, :, None, None] * (x - CENTRE)[:, None]).sum(2)
        means = pred[:, :, None] + MEAN_SCALE * offsets
        per_component = discretized_logistic_logp(x[:, :, None], means, log_scales)
        return torch.logsumexp(F.log_softmax(logits, dim=2) + per_component, dim=2)


@register
class LocalLogisticMixture(Likelihood):
    """K logistics per value whose mean and scale also read the value's decoded neighbours (LocalHead)."""

    name = "local-mixture"

    @classmethod
    def describes(cls, cfg) -> bool:
        return cfg.local

    def outputs(self) -> int:
        return self.cfg.local_hidden

    def build(self, model) -> None:
        cfg = self.cfg
        model.head = LocalHead(cfg.channels, cfg.mixture, cfg.local_hidden, cfg.local_neighbours, cfg.local_layers)

    def log_prob(self, model, x, out):
        return model.head.log_prob(x, out)

    def coding(self, model, networks, precision: int, legacy: bool):
        head = model.head.coding_weights()
        return lambda out: LocalImages(out, head, self.cfg.mixture, self.cfg.channels, precision, legacy)
