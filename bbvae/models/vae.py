"""The VAE: Gaussian posterior q(z|x), prior N(0, I) (or a variant, bbvae/models/priors.py), discretized logistic p(x|z).

With `mixture` K > 0 (photo patches), p(x|z) is instead a mixture of K
discretized logistics driven by the decoder's features and each pixel's causal
neighbours (bbvae/models/local_mixture.py); such a model takes its images with their
context margins, (B, C, H+2, W+4), as bbvae/models/context.py builds them.

The networks only produce distribution parameters; the coder turns them into
integer frequencies. No batch statistics (no batch norm), so one image gives the
same parameters alone or inside a batch up to floating-point blocking.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from bbvae.models import local_mixture
from bbvae.models.likelihood import discretized_logistic_logp
from bbvae.models.priors import LOG_STD_MAX, LOG_STD_MIN, MIXTURE_PRIORS, PRIORS, LearnedMixture, SecondStage, gaussian_log_prob

LOG_SCALE_OFFSET = 4.0  # start wide (scale ~55): narrow scales make the mostly-zero pixels cost ~100 nats each
LOG_SCALE_MIN = -3.0    # on the 0..255 scale: a scale of 0.05 already puts ~all mass in one bin
MAX_LOCAL_LAYERS = 4      # hidden layers of the local mixture's per-pixel network: each costs hidden^2 per pixel
FLOATING_MOMENTUM = 0.99  # running average of the batches' S^2 that becomes the floating prior's variance


@dataclasses.dataclass(frozen=True)
class Objective:
    """What training minimises: the ELBO (with optional KL weight beta and free bits), with
    iwae_samples > 1 the importance-weighted bound, or with batch_prior the Batch Information
    Lower Bound (a floating-prior model's KL against its batch's own prior variance)."""

    beta: float = 1.0
    free_bits: float = 0.0      # nats per latent dimension
    iwae_samples: int = 1
    batch_prior: bool = False


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture of a VAE; saved with its weights."""

    channels: int = 1      # image channels
    height: int = 28
    width: int = 28
    hidden: int = 64       # feature channels of the convolutional stages
    blocks: int = 2        # residual blocks per stage
    latent: int = 32       # latent dimensions
    mixture: int = 0       # 0: one logistic per pixel; K > 0: K logistics with local autoregressive means
    local_hidden: int = 32  # with mixture > 0: width of the per-pixel network (LocalHead)
    local_neighbours: int = 6  # with mixture > 0: how many of the causal neighbours (local_mixture.NEIGHBOURS) it reads
    local_layers: int = 1   # with mixture > 0: its hidden layers (the first reads the inputs; the others are residual)
    prior: str = "normal"   # normal N(0, I), mog (mixture of Gaussians), vamp (VampPrior), floating (BILB), two-stage
    prior_components: int = 0  # K for mog and vamp
    prior_latent: int = 0      # the second VAE's latent dimensions for two-stage
    posterior: str = "learned"  # learned: std per input; constant: one learned std for all inputs (Fyffe)

    def __post_init__(self):
        if self.height % 4 or self.width % 4:
            raise ValueError(f"image sides must be multiples of 4, got {self.height}x{self.width}")
        for name in ("channels", "hidden", "blocks", "latent"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")
        if self.mixture < 0:
            raise ValueError("mixture must be 0 or positive")
        if not 1 <= self.local_neighbours <= len(local_mixture.NEIGHBOURS):
            raise ValueError(f"local_neighbours must be 1 to {len(local_mixture.NEIGHBOURS)}")
        if not 1 <= self.local_layers <= MAX_LOCAL_LAYERS:
            raise ValueError(f"local_layers must be 1 to {MAX_LOCAL_LAYERS}")
        if self.prior not in PRIORS or self.posterior not in ("learned", "constant"):
            raise ValueError(f"prior must be one of {PRIORS} and posterior learned or constant")
        if (self.prior in MIXTURE_PRIORS) != (self.prior_components != 0):
            raise ValueError("mog and vamp priors need prior_components >= 1; the normal and floating priors take none")
        if self.prior_components < 0 or (self.prior in MIXTURE_PRIORS and self.local):
            raise ValueError("mixture priors are for plain (whole-image) models")
        if (self.prior == "two-stage") != (self.prior_latent > 0):
            raise ValueError("the two-stage prior needs prior_latent >= 1; other priors take none")
        if self.prior == "floating" and self.posterior != "constant":
            raise ValueError("the floating prior (BILB) needs the constant posterior variance")

    @property
    def local(self) -> bool:
        """Whether inputs carry the causal context row and column (bbvae/models/context.py)."""
        return self.mixture > 0

    @property
    def dims(self) -> int:
        return self.channels * self.height * self.width

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}")
        return cls(**values)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1),
            nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x):
        return x + self.body(x)


def _stage(channels: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(*(ResidualBlock(channels) for _ in range(blocks)))


class Encoder(nn.Module):
    """x (0..255) -> mean and log standard deviation of q(z|x)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        h = cfg.hidden
        self.features = nn.Sequential(
            nn.Conv2d(cfg.channels, h // 2, 3, padding=1), nn.SiLU(),
            nn.Conv2d(h // 2, h, 4, stride=2, padding=1), _stage(h, cfg.blocks),
            nn.Conv2d(h, h, 4, stride=2, padding=1), _stage(h, cfg.blocks),
            nn.SiLU(), nn.Flatten(),
        )
        constant = cfg.posterior == "constant"
        self.head = nn.Linear(h * (cfg.height // 4) * (cfg.width // 4), (1 if constant else 2) * cfg.latent)
        self.log_std = nn.Parameter(torch.zeros(cfg.latent)) if constant else None

    def forward(self, x):
        out = self.head(self.features(x / 127.5 - 1.0))
        if self.log_std is not None:  # one posterior std for every input
            mean, log_std = out, self.log_std.expand_as(out)
        else:
            mean, log_std = out.chunk(2, dim=1)
        return mean, torch.clamp(log_std, LOG_STD_MIN, LOG_STD_MAX)


class Decoder(nn.Module):
    """z -> raw per-pixel outputs: a logistic's mean and log-scale, or the local mixture's parameters."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        h = cfg.hidden
        self.cfg = cfg
        self.head = nn.Linear(cfg.latent, h * (cfg.height // 4) * (cfg.width // 4))
        self.features = nn.Sequential(
            _stage(h, cfg.blocks),
            nn.SiLU(), nn.ConvTranspose2d(h, h, 4, stride=2, padding=1), _stage(h, cfg.blocks),
            nn.SiLU(), nn.ConvTranspose2d(h, h // 2, 4, stride=2, padding=1),
            nn.SiLU(), nn.Conv2d(h // 2, self.outputs(cfg), 3, padding=1),
        )

    @staticmethod
    def outputs(cfg: ModelConfig) -> int:
        """Per pixel: a logistic's mean and log-scale per channel, or the local head's features."""
        return cfg.local_hidden if cfg.local else 2 * cfg.channels

    def forward(self, z):
        cfg = self.cfg
        grid = self.head(z).view(-1, cfg.hidden, cfg.height // 4, cfg.width // 4)
        return self.features(grid)

    @staticmethod
    def logistic(out):
        """A plain model's raw outputs -> mean and log scale of a logistic per pixel, on the 0..255 scale."""
        raw_mean, raw_log_scale = out.chunk(2, dim=1)
        mean = 127.5 * (raw_mean + 1.0)
        log_scale = torch.clamp(raw_log_scale + LOG_SCALE_OFFSET, min=LOG_SCALE_MIN)
        return mean, log_scale


class VAE(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        if cfg.local:
            self.head = local_mixture.LocalHead(cfg.channels, cfg.mixture, cfg.local_hidden, cfg.local_neighbours,
                                                cfg.local_layers)
        if cfg.prior in MIXTURE_PRIORS:
            self.prior = LearnedMixture(cfg.prior, cfg.prior_components, cfg.latent, (cfg.channels, cfg.height, cfg.width))
        if cfg.prior == "two-stage":
            self.prior = SecondStage(cfg.latent, cfg.prior_latent)
        if cfg.prior == "floating":  # S^2 of the floating prior N(0, S^2), a running average over training batches
            self.register_buffer("prior_var", torch.ones(cfg.latent))

    def _latent_scale(self) -> torch.Tensor | None:
        return self.prior_var.sqrt() if self.cfg.prior == "floating" else None

    def posterior(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log std of q(z|x) in the coded latent space (what the coder's bins see).

        A floating-prior model codes u = z / S, whose prior is N(0, I): the KL, the
        IWAE weights and the coder all see a standard normal prior.
        """
        mean, log_std = self.encoder(pixels)
        scale = self._latent_scale()
        if scale is None:
            return mean, log_std
        return mean / scale, log_std - torch.log(scale)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """The decoder's outputs for coded latents (un-whitened first for a floating prior)."""
        scale = self._latent_scale()
        return self.decoder(latents if scale is None else latents * scale)

    def log_prior(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) in nats per latent vector, in the coded latent space."""
        if self.cfg.prior == "two-stage":
            return self.prior.log_prob(z)
        if self.cfg.prior not in MIXTURE_PRIORS:
            return -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(1)
        return self.prior.log_prob(z, self.encoder)

    def prior_mixture(self):
        """(weights, means, stds) of a mixture prior as float64 numpy arrays, for coding; None for N(0, I)."""
        if self.cfg.prior not in MIXTURE_PRIORS:
            return None
        with torch.no_grad():
            log_weights, means, log_stds = self.prior.components(self.encoder)
            log_stds = torch.clamp(log_stds, LOG_STD_MIN, LOG_STD_MAX)
            return tuple(t.detach().double().cpu().numpy() for t in (log_weights.exp(), means, log_stds.exp()))

    def forward(self, x: torch.Tensor, coded: torch.Tensor | None = None, objective: Objective | None = None) -> torch.Tensor:
        """The training loss per image in bits/dim (forward, so DistributedDataParallel can wrap it)."""
        objective = objective or Objective()
        if objective.iwae_samples > 1:
            return self.iwae_bpd(x, objective.iwae_samples, coded)
        if objective.batch_prior:
            return self.bilb_bpd(x, coded)
        return self.negative_elbo_bpd(x, coded, objective.beta, objective.free_bits)

    def pixels(self, x: torch.Tensor) -> torch.Tensor:
        """The image part of an input (a local model's inputs also carry their context)."""
        return local_mixture.image_part(x) if self.cfg.local else x

    def log_px(self, x: torch.Tensor, out: torch.Tensor, coded: torch.Tensor | None = None) -> torch.Tensor:
        """log p(x|z) in nats per image, from the decoder's outputs; `coded` channels per image (default all)."""
        if self.cfg.local:
            per_value = self.head.log_prob(x, out)
        else:
            per_value = discretized_logistic_logp(x, *self.decoder.logistic(out))
        if coded is not None:
            per_value = per_value * (torch.arange(self.cfg.channels, device=x.device)[None] < coded[:, None])[:, :, None, None]
        return per_value.flatten(1).sum(1)

    def coded_dims(self, x: torch.Tensor, coded: torch.Tensor | None = None) -> torch.Tensor | float:
        plane = self.cfg.height * self.cfg.width
        return self.cfg.dims if coded is None else coded.to(torch.float32) * plane

    def negative_elbo_bpd(self, x: torch.Tensor, coded: torch.Tensor | None = None, beta: float = 1.0,
                          free_bits: float = 0.0) -> torch.Tensor:
        """Per-image negative ELBO in bits/dim of its coded values (one reparameterised sample; the KL
        is analytic under N(0, I) and a one-sample estimate under a mixture prior).

        Training aids (defaults: none): the KL weighted by beta (annealing), and free bits
        (Kingma et al. 2016): a latent dimension whose KL, averaged over the batch, is below
        free_bits nats costs free_bits instead, with no gradient (under a mixture prior, the
        whole latent against free_bits per dimension).
        """
        mean, log_std = self.posterior(self.pixels(x))
        z = mean + torch.exp(log_std) * torch.randn_like(mean)
        log_px = self.log_px(x, self.decode(z), coded)
        if self.cfg.prior in ("normal", "floating"):
            per_dim = 0.5 * (mean.pow(2) + torch.exp(2 * log_std) - 1.0 - 2 * log_std)
            if free_bits > 0:
                per_dim = torch.where(per_dim.mean(0, keepdim=True) < free_bits, torch.full_like(per_dim, free_bits), per_dim)
            kl = per_dim.sum(1)
        else:
            kl = gaussian_log_prob(z, mean, log_std).sum(1) - self.log_prior(z)
            if free_bits > 0:
                kl = torch.clamp(kl, min=free_bits * self.cfg.latent)
        return (beta * kl - log_px) / (self.coded_dims(x, coded) * math.log(2.0))

    def iwae_bpd(self, x: torch.Tensor, samples: int, coded: torch.Tensor | None = None) -> torch.Tensor:
        """Per-image importance-weighted bound on -log p(x) in bits/dim (Burda et al. 2015); reparameterised,
        so it is also the IWAE training objective (evaluate it under torch.no_grad())."""
        mean, log_std = self.posterior(self.pixels(x))
        std = torch.exp(log_std)
        log_weights = []
        for _ in range(samples):
            eps = torch.randn_like(mean)
            z = mean + std * eps
            log_px = self.log_px(x, self.decode(z), coded)
            log_pz = self.log_prior(z)
            log_qz = (-0.5 * (eps.pow(2) + math.log(2 * math.pi)) - log_std).sum(1)
            log_weights.append(log_px + log_pz - log_qz)
        stacked = torch.stack(log_weights)
        log_px_estimate = torch.logsumexp(stacked, 0) - math.log(samples)
        return -log_px_estimate / (self.coded_dims(x, coded) * math.log(2.0))

    def bilb_bpd(self, x: torch.Tensor, coded: torch.Tensor | None = None) -> torch.Tensor:
        """Per-image Batch Information Lower Bound in bits/dim (Fyffe, "There and Back Again"): the ELBO
        of a constant-variance posterior N(mu, Sigma) against the floating prior N(0, S^2), S^2 = Sigma
        + E_batch[mu^2] from this batch (with its gradient). Its batch mean KL is 0.5 sum log(S^2 / Sigma).
        In training mode it also moves the prior's stored S^2, which evaluation and coding use, towards
        this batch's."""
        if self.cfg.prior != "floating":
            raise ValueError("the BILB objective trains floating-prior models")
        mean, log_std = self.encoder(self.pixels(x))
        variance = torch.exp(2 * log_std)
        prior_var = variance[0] + mean.pow(2).mean(0)
        if self.training:
            with torch.no_grad():
                self.prior_var.mul_(FLOATING_MOMENTUM).add_((1 - FLOATING_MOMENTUM) * prior_var)
        kl = 0.5 * ((variance + mean.pow(2)) / prior_var - 1.0 - 2 * log_std + torch.log(prior_var)).sum(1)
        z = mean + torch.exp(log_std) * torch.randn_like(mean)
        log_px = self.log_px(x, self.decoder(z), coded)
        return (kl - log_px) / (self.coded_dims(x, coded) * math.log(2.0))
