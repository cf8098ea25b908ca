"""The VAE: Gaussian posterior q(z|x), a prior p(z) (bbvae/models/priors/) and a pixel likelihood p(x|z)
(bbvae/models/likelihoods/): one discretized logistic per value, a mixture of them, or a mixture that also
reads each value's decoded causal neighbours (photo patches). A model whose likelihood reads neighbours takes
its images with their context margins, (B, C, H+2, W+4), as bbvae/models/context.py builds them.

The networks only produce distribution parameters; the coder turns them into
integer frequencies. No batch statistics (no batch norm), so one image gives the
same parameters alone or inside a batch up to floating-point blocking.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from bbvae.errors import ConfigError
from bbvae.models.likelihoods import likelihood_for, local_mixture
from bbvae.models.priors import LOG_STD_MAX, LOG_STD_MIN, PRIORS

MAX_LOCAL_LAYERS = 4      # hidden layers of the local mixture's per-pixel network: each costs hidden^2 per pixel
OLD_DEFAULT_NEIGHBOURS = 6  # what a local model read when its config did not say
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
    blocks: int = 2        # residual blocks per stage (0: none, the cheapest networks)
    latent: int = 32       # latent dimensions
    mixture: int = 1       # logistic components per value (bbvae/models/likelihoods/)
    local_neighbours: int = 0  # decoded causal neighbours each value reads (local_mixture.NEIGHBOURS); 0: none
    local_hidden: int = 32  # with neighbours: width of the per-pixel network (LocalHead)
    local_layers: int = 1   # with neighbours: its hidden layers (the first reads the inputs; the others are residual)
    prior: str = "normal"   # normal N(0, I), mog (mixture of Gaussians), vamp (VampPrior), floating (BILB), two-stage
    prior_components: int = 0  # K for mog and vamp
    prior_latent: int = 0      # the second VAE's latent dimensions for two-stage
    posterior: str = "learned"  # learned: std per input; constant: one learned std for all inputs (Fyffe)
    patches: bool = False  # trained on patches: codes photographs of any size strip by strip (bbvae/codecs/patches.py)
    output_kernel: int = 3  # side of the decoder's last convolution; 1 makes it per pixel (a third of a digit model's work)

    def __post_init__(self):
        if self.height % 4 or self.width % 4:
            raise ConfigError(f"image sides must be multiples of 4, got {self.height}x{self.width}")
        for name in ("channels", "hidden", "latent"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be positive")
        if self.blocks < 0:
            raise ConfigError("blocks must be 0 or more")
        if self.output_kernel not in (1, 3):
            raise ConfigError(f"output_kernel must be 1 or 3, got {self.output_kernel}")
        if self.mixture < 1:
            raise ConfigError("mixture must be at least 1 (logistic components per value)")
        if not 0 <= self.local_neighbours <= len(local_mixture.NEIGHBOURS):
            raise ConfigError(f"local_neighbours must be 0 to {len(local_mixture.NEIGHBOURS)}")
        if not 1 <= self.local_layers <= MAX_LOCAL_LAYERS:
            raise ConfigError(f"local_layers must be 1 to {MAX_LOCAL_LAYERS}")
        if self.prior not in PRIORS or self.posterior not in ("learned", "constant"):
            raise ConfigError(f"prior must be one of {', '.join(PRIORS)} and posterior learned or constant")
        PRIORS[self.prior].check(self)
        if self.patches and (not self.local or self.channels != 3 or self.height != self.width):
            raise ConfigError("a patch model needs square RGB patches and a likelihood that reads neighbours")

    @property
    def local(self) -> bool:
        """Whether values read decoded neighbours, so inputs carry the causal context (bbvae/models/context.py)."""
        return self.local_neighbours > 0

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
            raise ConfigError(f"unknown config keys {sorted(unknown)}")
        return cls(**_from_before_independent_likelihoods(values))


def _from_before_independent_likelihoods(values: dict) -> dict:
    """Configs written when `mixture` K > 0 meant K logistics that read neighbours (6 unless stated) and 0 meant
    one logistic that reads none; every config written since has mixture >= 1 and local_neighbours stated."""
    if values.get("mixture", 0) == 0:
        return {**values, "mixture": 1, "local_neighbours": 0}
    if "local_neighbours" not in values:
        return {**values, "local_neighbours": OLD_DEFAULT_NEIGHBOURS}
    return values


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
            nn.SiLU(), nn.Conv2d(h // 2, likelihood_for(cfg).outputs(), cfg.output_kernel, padding=cfg.output_kernel // 2),
        )

    def forward(self, z):
        cfg = self.cfg
        grid = self.head(z).view(-1, cfg.hidden, cfg.height // 4, cfg.width // 4)
        return self.features(grid)


class VAE(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.likelihood = likelihood_for(cfg)  # bbvae/models/likelihoods/: its parameters, log p(x|z) and codec
        self.likelihood.build(self)
        self.latent_prior = PRIORS[cfg.prior](cfg)  # bbvae/models/priors/: its parameters, log p(z) and codec
        self.latent_prior.build(self)

    def _latent_scale(self) -> torch.Tensor | None:
        return self.latent_prior.latent_scale(self)

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
        return self.latent_prior.log_prob(self, z)

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
        per_value = self.likelihood.log_prob(self, x, out)
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
        (Kingma et al. 2016), as the prior applies them (Prior.kl).
        """
        mean, log_std = self.posterior(self.pixels(x))
        z = mean + torch.exp(log_std) * torch.randn_like(mean)
        log_px = self.log_px(x, self.decode(z), coded)
        kl = self.latent_prior.kl(self, mean, log_std, z, free_bits)
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
            raise ConfigError("the BILB objective trains floating-prior models")
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
