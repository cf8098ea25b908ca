"""Portable arithmetic for the coding networks: fixed-point values whose sums float64 holds exactly.

A decoder must compute exactly the numbers its encoder used, on any machine. torch's
float32 convolutions do not: their last bits depend on the CPU's vector width, the
oneDNN/BLAS kernel, the thread count and the torch release. bbvae therefore codes with
a fixed-point version of each trained network, in the manner of integer networks
(Ballé, Johnston and Minnen, ICLR 2019; docs/ARITHMETIC.md):

- every activation is a multiple of 2^-ACTIVATION_FRACTION_BITS, clamped to
  +-ACTIVATION_LIMIT;
- every weight of a layer is a multiple of 2^-F and its bias a multiple of
  2^-(F + ACTIVATION_FRACTION_BITS), with F chosen per layer from its largest weight,
  bias and fan-in so that every product and every partial sum of the layer is an
  integer multiple of 2^-(F + ACTIVATION_FRACTION_BITS) below 2^EXACT_BITS of them.

float64 represents every such number exactly, so a convolution or matrix product made of
multiplications and additions gives the exact sum whatever its order, blocking, vector width,
thread count or use of fused multiply-adds: torch's float64 kernels compute it. The
rounding back onto the activation grid and SiLU (through kernels.exact_exp) run in one
Numba kernel whose bits are the same everywhere. The quantised weights derive from the
model file's float32 weights by exact operations, so a model file needs no second copy.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bbvae.coder import kernels
from bbvae.coder.codecs import exact_exp
from bbvae.models.likelihoods.logistic import LOG_SCALE_MIN, LOG_SCALE_OFFSET
from bbvae.models.priors.base import LOG_STD_MAX, LOG_STD_MIN
from bbvae.models.vae import VAE, ResidualBlock

ACTIVATION_FRACTION_BITS = 16
ACTIVATION_UNIT = 2.0 ** -ACTIVATION_FRACTION_BITS
ACTIVATION_LIMIT = 2.0 ** 10
EXACT_BITS = 51  # float64 holds every integer below 2^53; two bits spare for the rounding of weights


def on_grid(values, silu: bool = False) -> np.ndarray:
    """A fresh float64 array: `values` (through SiLU when `silu`) on the activation grid, clamped."""
    out = np.array(values, dtype=np.float64, order="C", copy=True)
    kernels.fixed_point_kernel(out.reshape(-1), ACTIVATION_UNIT, ACTIVATION_LIMIT, silu)
    return out


def gaussian_outputs(out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A network's (N, 2D) outputs -> the mean and the clamped log std of a diagonal Gaussian (as
    priors._gaussian and Encoder.forward split them)."""
    half = out.shape[1] // 2
    return np.ascontiguousarray(out[:, :half]), np.clip(out[:, half:], LOG_STD_MIN, LOG_STD_MAX)


def _ties_up(values: np.ndarray, fraction_bits: int) -> np.ndarray:
    """Multiples of 2^-fraction_bits nearest to values (exact: scaling by powers of two and floor)."""
    scale = 2.0 ** fraction_bits
    return np.floor(values * scale + 0.5) / scale


class _Affine:
    """A Conv2d, ConvTranspose2d or Linear layer with weights on its own fixed-point grid."""

    def __init__(self, layer: nn.Module):
        weight = layer.weight.detach().double().cpu().numpy()
        bias = np.zeros(weight.shape[1 if isinstance(layer, nn.ConvTranspose2d) else 0]) if layer.bias is None \
            else layer.bias.detach().double().cpu().numpy()
        fan_in = weight[0].size if not isinstance(layer, nn.ConvTranspose2d) else weight.size // weight.shape[1]
        bound = float(np.abs(weight).max()) * fan_in * ACTIVATION_LIMIT + float(np.abs(bias).max())
        _, exponent = math.frexp(max(bound, 2.0 ** -60))  # bound < 2^exponent
        self.fraction_bits = EXACT_BITS - ACTIVATION_FRACTION_BITS - exponent
        self.weight = torch.from_numpy(_ties_up(weight, self.fraction_bits))
        self.bias = torch.from_numpy(_ties_up(bias, self.fraction_bits + ACTIVATION_FRACTION_BITS))
        self.layer = layer
        pointwise = isinstance(layer, nn.Conv2d) and layer.kernel_size == (1, 1) and layer.stride == (1, 1) \
            and layer.padding == (0, 0)
        self.matrix = self.weight[:, :, 0, 0].t() if pointwise else None  # (in, out) channels

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        layer = self.layer
        if isinstance(layer, nn.Linear):
            out = F.linear(x, self.weight, self.bias)
        elif self.matrix is not None:
            out = _pointwise(x, self.matrix, self.bias)
        elif isinstance(layer, nn.ConvTranspose2d):
            out = F.conv_transpose2d(x, self.weight, self.bias, layer.stride, layer.padding, layer.output_padding)
        else:
            out = F.conv2d(x, self.weight, self.bias, layer.stride, layer.padding)
        return _rounded(out, silu=False)


def _pointwise(x: torch.Tensor, matrix: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """A 1x1 convolution as one matrix product over channels, its result (N, C, H, W) stored channels-last: the
    per-pixel head reads each pixel's features together, and then needs no transposed copy of them."""
    n, _, height, width = x.shape
    pixels = x.permute(0, 2, 3, 1).reshape(n, height * width, -1)  # a view for either layout
    return torch.matmul(pixels, matrix).add_(bias).view(n, height, width, -1).permute(0, 3, 1, 2)


def _rounded(x: torch.Tensor, silu: bool) -> torch.Tensor:
    """x on the activation grid (through SiLU when `silu`), in place when x is stored densely (in order, or
    channels-last as _pointwise's results): each value is rounded on its own."""
    if x.is_contiguous():
        flat = x.view(-1)
    elif x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        flat = x.permute(0, 2, 3, 1).view(-1)
    else:
        x = x.contiguous()
        flat = x.view(-1)
    kernels.fixed_point_kernel(flat.numpy(), ACTIVATION_UNIT, ACTIVATION_LIMIT, silu)
    return x


BATCH = 16  # samples per torch call: larger batches outgrow the caches (`python benchmarks/network_batches.py`)


class FixedPointNetwork:
    """A torch module (Sequential, ResidualBlock, Conv2d, ConvTranspose2d, Linear, SiLU, Flatten) evaluated in
    the fixed-point arithmetic: float64 tensors on the activation grid in and out.

    Each sample's sums are exact, so its result does not depend on the samples beside it: the network runs
    on BATCH samples at a time, whatever the caller's batch.
    """

    def __init__(self, module: nn.Module):
        self.run = _compiled(module)

    def __call__(self, x: np.ndarray | torch.Tensor) -> torch.Tensor:
        x = torch.from_numpy(on_grid(x)) if isinstance(x, np.ndarray) else x
        with torch.inference_mode():
            if len(x) <= BATCH:
                return self.run(x)
            return torch.cat([self.run(part) for part in x.split(BATCH)])


def _compiled(module: nn.Module):
    if isinstance(module, nn.Sequential):
        parts = [_compiled(m) for m in module]

        def sequence(x):
            for part in parts:
                x = part(x)
            return x
        return sequence
    if isinstance(module, ResidualBlock):
        body = _compiled(module.body)
        return lambda x: _rounded(x + body(x.clone()), silu=False)  # the sum of two grid values is exact; clamp it
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)) and (
            module.groups != 1 or any(d != 1 for d in module.dilation) or module.padding_mode != "zeros"
            or not isinstance(module.padding, tuple)):
        raise TypeError(f"no fixed-point form for {module}: groups, dilation and padding other than zeros")
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        return _Affine(module)
    if isinstance(module, nn.SiLU):
        return lambda x: _rounded(x, silu=True)  # in place: no part of a network reads a SiLU's input again
    if isinstance(module, nn.Flatten):
        return lambda x: x.flatten(module.start_dim, module.end_dim)
    raise TypeError(f"no fixed-point form for {type(module).__name__}")


class FixedPointVAE:
    """The coding networks of a VAE (posterior, decoder, logistic outputs) in the portable arithmetic.

    Same interface as codings.TorchNetworks; every result is a float64 numpy array whose bits are the
    same on every machine.
    """

    def __init__(self, model: VAE):
        self.cfg = model.cfg
        encoder, decoder = model.encoder, model.decoder
        self.encoder_features, self.encoder_head = FixedPointNetwork(encoder.features), FixedPointNetwork(encoder.head)
        self.constant_log_std = None if encoder.log_std is None else on_grid(encoder.log_std.detach().double().numpy())
        self.decoder_head, self.decoder_features = FixedPointNetwork(decoder.head), FixedPointNetwork(decoder.features)
        # a floating prior's latents are coded whitened, u = z / S (bbvae/models/vae.py): S by a correctly rounded sqrt
        scale = model.latent_prior.latent_scale(model)
        self.latent_scale = None if scale is None else np.sqrt(model.prior_var.detach().double().numpy())

    def encoder_outputs(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The encoder's mean and clamped log std (as Encoder.forward) for images on the 0..255 scale."""
        x = on_grid(np.asarray(pixels, dtype=np.float64) / 127.5 - 1.0)
        out = self.encoder_head(self.encoder_features(torch.from_numpy(x))).numpy()
        if self.constant_log_std is not None:
            return np.ascontiguousarray(out), np.clip(np.broadcast_to(self.constant_log_std, out.shape), LOG_STD_MIN,
                                                      LOG_STD_MAX)
        return gaussian_outputs(out)

    def decoder_outputs(self, z: np.ndarray) -> np.ndarray:
        """The decoder's raw outputs (N, outputs, H, W) for latents z (N, latent), as Decoder.forward."""
        cfg = self.cfg
        grid = self.decoder_head(np.asarray(z, dtype=np.float64)).view(-1, cfg.hidden, cfg.height // 4, cfg.width // 4)
        return self.decoder_features(grid).numpy()

    def posterior(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of q(z|x) in the coded latent space, for images (N, C, H, W) on the 0..255 scale."""
        mean, log_std = self.encoder_outputs(pixels)
        std = exact_exp(log_std)
        if self.latent_scale is None:
            return mean, std
        return mean / self.latent_scale, std / self.latent_scale

    def decode(self, latents: np.ndarray) -> np.ndarray:
        """The decoder's raw outputs for coded latents (N, latent)."""
        return self.decoder_outputs(latents if self.latent_scale is None else latents * self.latent_scale)

    @staticmethod
    def logistic(out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A plain model's outputs -> mean and scale of each pixel's logistic (as likelihoods.logistic_parameters)."""
        half = out.shape[1] // 2
        mean = 127.5 * (out[:, :half] + 1.0)
        return mean, exact_exp(np.maximum(out[:, half:] + LOG_SCALE_OFFSET, LOG_SCALE_MIN))


class _Encoder(nn.Module):
    def __init__(self, networks: FixedPointVAE):
        super().__init__()
        self.networks = networks

    def forward(self, x):
        mean, log_std = self.networks.encoder_outputs(x.detach().double().cpu().numpy())
        return torch.from_numpy(mean).float().to(x.device), torch.from_numpy(np.array(log_std)).float().to(x.device)


class _Decoder(nn.Module):
    def __init__(self, networks: FixedPointVAE, cfg):
        super().__init__()
        self.networks, self.cfg = networks, cfg

    def forward(self, z):
        return torch.from_numpy(self.networks.decoder_outputs(z.detach().double().cpu().numpy())).float().to(z.device)


def coded_model(model: VAE) -> VAE:
    """A copy of the model whose encoder and decoder run in the fixed-point arithmetic: what bbvae codes with,
    so that evaluating it (bbvae/models/evaluate.py) gives the coded model's bounds. For evaluation only."""
    networks = FixedPointVAE(model)
    coded = copy.deepcopy(model).eval()
    coded.encoder, coded.decoder = _Encoder(networks), _Decoder(networks, model.cfg)
    return coded
