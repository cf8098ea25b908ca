"""Training loop: single process, or data-parallel under torchrun (gloo on CPU, nccl on GPU).

Every epoch ends with the held-out negative ELBO, a line in train_log.jsonl, a
checkpoint (weights + optimiser, for --resume) and the model file, and the
model file is copied to best.safetensors whenever the held-out figure is the
lowest so far (the epoch to ship is chosen on it, not the last one). All
writes are atomic, and Ctrl-C saves a checkpoint of the unfinished epoch first.

With --minutes, the run is sized by training time instead of epochs: the
learning rate's cosine decay spans the minutes (evaluation excluded), so a run
on a borrowed GPU ends annealed whatever its speed turns out to be.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist

from bbvae.errors import ConfigError
from bbvae.io.atomic import atomic_path
from bbvae.models.evaluate import evaluate
from bbvae.models.modelfile import WEIGHTS_NAME, load_model, save_model
from bbvae.models.vae import OLD_DEFAULT_NEIGHBOURS, VAE, ModelConfig, Objective
from bbvae.training import allocation
from bbvae.training.sets import training_data

CHECKPOINT_NAME = "checkpoint.pt"
LOG_NAME = "train_log.jsonl"
BEST_NAME = "best.safetensors"  # the model file of the epoch with the lowest held-out -ELBO
FINAL_LR_FRACTION = 0.05  # cosine decay ends at this fraction of the base learning rate
GRAD_CLIP_NORM = 50.0     # bounds one bad batch's step; typical norms are far below


@dataclasses.dataclass
class TrainOptions:
    dataset: str
    out: str
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    hidden: int = 64
    blocks: int = 2
    output_kernel: int = 3        # side of the decoder's last convolution (1: per pixel, cheaper)
    latent: int = 32
    resume: bool = False
    threads: int | None = None
    test_limit: int | None = None
    patch: int | None = None      # train on random patches of this size from photographs of any size
    extra_photos: str | None = None  # a folder of more training photographs for a patch model
    mixture: int = 1              # logistic components per value (0 reads as 1, as older commands wrote it)
    epoch_patches: int = 20000    # patches per epoch when training on photographs
    local_hidden: int = 32        # width of the per-pixel network of a local mixture
    local_neighbours: int | None = None  # decoded neighbours each value reads (None: 6 with mixture > 1, else 0)
    local_layers: int = 1         # its hidden layers
    init_from: str | None = None  # start from this trained model's weights (the new model holds all of them)
    init_partial: bool = False    # ... or those that fit: dropped blocks, a 3x3 last layer summed into a 1x1 one
    prior: str = "normal"         # normal, mog or vamp (bbvae/models/priors.py)
    prior_components: int = 0     # K for mog and vamp
    posterior: str = "learned"    # learned or constant posterior variance
    objective: str = "elbo"       # elbo; iwae (the importance-weighted bound with iwae_train_samples); bilb (Fyffe)
    iwae_train_samples: int = 5
    kl_warmup: float = 0.0        # epochs over which the KL weight rises from 0 to 1 (ELBO only)
    free_bits: float = 0.0        # nats per latent dimension (ELBO only)
    minutes: float | None = None  # training time to stop after; the learning-rate schedule spans it, not the epochs


@dataclasses.dataclass
class Distributed:
    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _start_distributed(device: torch.device) -> Distributed:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Distributed(rank=dist.get_rank(), world=dist.get_world_size())


def pick_device() -> torch.device:
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        return torch.device("cuda", local)
    return torch.device("cpu")


def objective_at(opts: TrainOptions, epochs_done: float) -> Objective:
    """The objective after `epochs_done` (fractional) epochs: KL annealing changes the path, not the end."""
    if opts.objective == "iwae":
        return Objective(iwae_samples=opts.iwae_train_samples)
    if opts.objective == "bilb":
        return Objective(batch_prior=True)
    beta = min(1.0, epochs_done / opts.kl_warmup) if opts.kl_warmup > 0 else 1.0
    return Objective(beta=beta, free_bits=opts.free_bits)


def progress_at(opts: TrainOptions, epochs_done: float, seconds: float) -> float:
    """How far through the run (0..1): by training time with --minutes, by epochs otherwise."""
    if opts.minutes:
        return seconds / (60 * opts.minutes)
    return epochs_done / opts.epochs


def out_of_time(opts: TrainOptions, seconds: float) -> bool:
    """Whether a run with --minutes has trained for them (never without)."""
    return bool(opts.minutes) and seconds >= 60 * opts.minutes


def learning_rate(opts: TrainOptions, progress: float) -> float:
    """Cosine decay from lr to FINAL_LR_FRACTION * lr over the whole run (progress in [0, 1])."""
    low = opts.lr * FINAL_LR_FRACTION
    return low + 0.5 * (opts.lr - low) * (1 + math.cos(math.pi * min(progress, 1.0)))


def evaluate_elbo(model: VAE, images: np.ndarray, coded: np.ndarray | None) -> float:
    """Negative ELBO in bits/dim over all coded values of the test images (one posterior sample each).

    evaluate() seeds its own draws; fork_rng keeps that from resetting the training noise every epoch.
    """
    device = next(model.parameters()).device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        result = evaluate(model, images, iwae_samples=0, batch_size=500, coded=coded)["elbo_bpd"]
    model.train()
    return result


def _tensors(images: np.ndarray, coded: np.ndarray | None, device: torch.device):
    return torch.from_numpy(images).to(device), None if coded is None else torch.from_numpy(coded).to(device)


def _save_checkpoint(out: Path, model: VAE, optimizer, state: dict) -> None:
    payload = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), **state}
    with atomic_path(out / CHECKPOINT_NAME) as tmp:
        torch.save(payload, tmp)


def _restore(opts: TrainOptions, out: Path, model: VAE, optimizer, say: Callable[[str], None]) -> dict:
    """Load the checkpoint (or, without one, the model file's weights) into model and optimizer."""
    checkpoint = out / CHECKPOINT_NAME
    if checkpoint.exists():
        saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        say(f"resuming from {checkpoint}: epoch {saved['epoch'] + 1}, batch {saved['batches_done']}")
        return {k: saved[k] for k in ("epoch", "batches_done", "seconds")}
    if (out / WEIGHTS_NAME).exists():
        loaded, info = load_model(out)
        model.load_state_dict(loaded.state_dict())
        done = int(info.info.get("epochs", 0))
        say(f"no checkpoint in {out}; resuming from the model file after epoch {done} with a fresh optimiser")
        return {"epoch": done, "batches_done": 0, "seconds": float(info.info.get("train_seconds", 0.0))}
    raise FileNotFoundError(f"--resume: nothing to resume in {out}")


def _best_so_far(out: Path) -> float:
    """The lowest held-out -ELBO in the run's log (a resumed run keeps its best.safetensors unless it beats it)."""
    if not (out / LOG_NAME).exists() or not (out / BEST_NAME).exists():
        return math.inf
    return min(json.loads(line)["test_elbo_bpd"] for line in (out / LOG_NAME).read_text().splitlines())


def _keep_if_best(out: Path, bpd: float, best: float) -> bool:
    """Copy the epoch's model file to best.safetensors when its held-out -ELBO is the lowest so far."""
    if not bpd < best:
        return False
    with atomic_path(out / BEST_NAME) as tmp:
        shutil.copyfile(out / WEIGHTS_NAME, tmp)
    return True


def _agreed_seconds(seconds: float, ddp: Distributed, device: torch.device) -> float:
    """Training time as rank 0 counts it, so that every process follows one schedule and stops at one step."""
    if ddp.world == 1:
        return seconds
    clock = torch.tensor([seconds if ddp.is_main else 0.0], dtype=torch.float64, device=device)
    dist.broadcast(clock, src=0)
    return float(clock.item())


def _init_from(name: str, model: VAE, say: Callable[[str], None], partial: bool = False) -> str:
    """Copy every weight of a trained model into `model`, which must hold all of them (it may add more).

    With `partial` (a cheaper model started from a stronger one) the weights that have no place are
    dropped (residual blocks of `--blocks 0`) and a 3x3 convolution fills a 1x1 one with the sum of its
    taps, which is the same layer where the features are constant across the 3x3 window (`--output-kernel 1`).
    Returns the trained model's fingerprint, for the new model's record."""
    loaded, info = load_model(name)
    trained = loaded.state_dict()
    own = model.state_dict()
    if partial:
        trained = {key: _fitted(value, own[key].shape) for key, value in trained.items() if key in own}
        trained = {key: value for key, value in trained.items() if value is not None}
    misfits = [key for key, value in trained.items() if key not in own or own[key].shape != value.shape]
    if misfits:
        raise ConfigError(f"--init-from {name}: the new model has no place for its {misfits[0]} "
                         f"({len(misfits)} weights in all); train with the same architecture options or --init-partial")
    model.load_state_dict(trained, strict=False)
    new = [key for key in own if key not in trained]
    dropped = [key for key in loaded.state_dict() if key not in trained]
    say(f"initialised from {name}; new weights: {', '.join(new) if new else 'none'}"
        + (f"; dropped: {', '.join(dropped)}" if dropped else ""))
    return info.fingerprint


def _fitted(value: torch.Tensor, shape: torch.Size) -> torch.Tensor | None:
    """A trained weight for a slot of `shape`: as it is, a 3x3 kernel summed into a 1x1 one, or None (no fit)."""
    if value.shape == shape:
        return value
    if value.dim() == 4 and value.shape[:2] == shape[:2] and tuple(shape[2:]) == (1, 1):
        return value.sum(dim=(2, 3), keepdim=True)
    return None


def _neighbours(opts: TrainOptions) -> int:
    """The decoded neighbours each value reads: as asked, else those of a mixture as `--mixture K` always meant."""
    if opts.local_neighbours is not None:
        return opts.local_neighbours
    return OLD_DEFAULT_NEIGHBOURS if opts.mixture > 1 else 0


def _config_for(opts: TrainOptions, shape: tuple[int, int, int], out: Path) -> ModelConfig:
    if opts.resume and (out / WEIGHTS_NAME).exists():
        return load_model(out)[1].config
    channels, height, width = shape
    return ModelConfig(channels=channels, height=height, width=width, hidden=opts.hidden, blocks=opts.blocks,
                       latent=opts.latent, mixture=max(1, opts.mixture), local_hidden=opts.local_hidden,
                       local_neighbours=_neighbours(opts), local_layers=opts.local_layers,
                       prior="floating" if opts.objective == "bilb" else opts.prior,
                       prior_components=opts.prior_components, posterior=opts.posterior,
                       patches=bool(opts.patch), output_kernel=opts.output_kernel)


def _interrupt_on_sigterm() -> None:
    """Schedulers stop jobs with SIGTERM: treat it like Ctrl-C, so the run checkpoints before it ends."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def train(opts: TrainOptions, say: Callable[[str], None] = print, progress=None) -> Path:
    """Train a VAE and write OUT/model.safetensors; returns that path (Ctrl-C or SIGTERM checkpoints)."""
    _interrupt_on_sigterm()
    device = pick_device()
    if opts.threads:
        torch.set_num_threads(opts.threads)
    ddp = _start_distributed(device)
    out = Path(opts.out)
    if opts.objective != "elbo" and (opts.kl_warmup > 0 or opts.free_bits > 0):
        raise ConfigError(f"KL warm-up and free bits apply to the ELBO objective, not to {opts.objective.upper()}")
    if opts.objective == "bilb" and (opts.posterior != "constant" or opts.prior != "normal"):
        raise ConfigError("--objective bilb trains its own floating prior and needs --posterior constant (and no --prior)")
    if opts.patch and not _neighbours(opts):
        raise ConfigError("--patch needs a likelihood that reads neighbours: --mixture K (e.g. 4) or --local-neighbours N")
    if opts.init_from and opts.resume:
        raise ConfigError("--resume continues a run from its own checkpoint; --init-from starts a new one: use one")
    if opts.init_partial and not opts.init_from:
        raise ConfigError("--init-partial says how --init-from fills a cheaper model: it needs --init-from")
    if opts.minutes is not None and opts.minutes <= 0:
        raise ConfigError("--minutes must be positive")
    if opts.extra_photos and not opts.patch:
        raise ConfigError("--extra-photos adds photographs to a patch model's training set: it needs --patch")
    source = training_data(opts.dataset, opts.patch, opts.epoch_patches, opts.seed, opts.test_limit,
                           local=_neighbours(opts) > 0, extra_photos=opts.extra_photos)
    machine = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, torch threads: {torch.get_num_threads()}"
    if ddp.is_main:
        say(f"training on {device.type} ({machine}), {ddp.world} process(es); {source.describe()}")
    torch.manual_seed(opts.seed)
    cfg = _config_for(opts, source.shape, out)
    model = VAE(cfg)
    started_from = (_init_from(opts.init_from, model, say if ddp.is_main else (lambda _: None), opts.init_partial)
                    if opts.init_from else None)
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=opts.lr)
    start = {"epoch": 0, "batches_done": 0, "seconds": 0.0}
    if opts.resume:
        start = _restore(opts, out, model, optimizer, say if ddp.is_main else (lambda _: None))
    net = torch.nn.parallel.DistributedDataParallel(model) if ddp.world > 1 else model

    per_rank = opts.batch_size
    steps_per_epoch = source.steps(per_rank * ddp.world)
    if steps_per_epoch == 0:
        raise ConfigError(f"batch size {opts.batch_size} x {ddp.world} processes exceeds the training items per epoch")
    if ddp.is_main:
        out.mkdir(parents=True, exist_ok=True)  # only now: a refused run leaves nothing behind
    elapsed = start["seconds"]
    epoch, batches_done = start["epoch"], start["batches_done"]
    best = _best_so_far(out)
    time_is_up = out_of_time(opts, elapsed)
    while epoch < opts.epochs and not time_is_up:
        began = time.time()
        running, seen, skipped = 0.0, 0, 0
        bar = progress(range(batches_done, steps_per_epoch), f"epoch {epoch + 1}/{opts.epochs}") if (progress and ddp.is_main) else None
        try:
            for step in (bar if bar is not None else range(batches_done, steps_per_epoch)):
                trained = elapsed + time.time() - began
                if opts.minutes:
                    trained = _agreed_seconds(trained, ddp, device)
                    time_is_up = out_of_time(opts, trained)
                    if time_is_up:  # this partial epoch ends the run, evaluated and saved like a whole one
                        break
                batch, coded = _tensors(*source.batch(epoch, step * ddp.world + ddp.rank, per_rank), device)
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(opts, progress_at(opts, epoch + step / steps_per_epoch, trained))
                loss = net(batch, coded, objective_at(opts, epoch + step / steps_per_epoch)).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                norm = torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP_NORM)
                batches_done = step + 1
                if not torch.isfinite(norm):  # the all-reduced norm: every rank skips alike
                    skipped += 1  # never let one non-finite batch poison the weights
                    continue
                optimizer.step()
                running += loss.item()
                seen += 1
                if bar is not None:
                    bar.loss = running / seen
        except KeyboardInterrupt:
            if ddp.is_main:
                _save_checkpoint(out, model, optimizer, {"epoch": epoch, "batches_done": batches_done,
                                                         "seconds": elapsed + time.time() - began})
                say(f"\ninterrupted: checkpoint saved in {out / CHECKPOINT_NAME}; continue with --resume")
            raise
        elapsed += time.time() - began
        epoch, batches_done = epoch + 1, 0
        if opts.minutes:  # spent with this epoch's last step: no empty epoch after it
            time_is_up = out_of_time(opts, _agreed_seconds(elapsed, ddp, device))
        if ddp.is_main:
            test_bpd = evaluate_elbo(model, *source.test_set())
            record = {"epoch": epoch, "train_bpd": running / max(seen, 1), "test_elbo_bpd": test_bpd,
                      "held_out": source.held_out, "skipped_batches": skipped,
                      "seconds": round(elapsed, 1), "lr": optimizer.param_groups[0]["lr"]}
            _save_checkpoint(out, model, optimizer, {"epoch": epoch, "batches_done": 0, "seconds": elapsed})
            table = allocation.fit(model.eval(), *source.allocation_set())
            model.train()
            save_model(out / WEIGHTS_NAME, model, codec={allocation.TABLE_NAME: table}, info={
                "dataset": opts.dataset, "extra_photos": opts.extra_photos, "epochs": epoch, "test_elbo_bpd": test_bpd,
                "held_out": source.held_out,
                "train_seconds": round(elapsed, 1), "device": device.type, "machine": machine, "processes": ddp.world,
                "batch_size": opts.batch_size, "lr": opts.lr, "seed": opts.seed, "patch": opts.patch,
                "objective": opts.objective, "iwae_train_samples": opts.iwae_train_samples if opts.objective == "iwae" else None,
                "kl_warmup": opts.kl_warmup, "free_bits": opts.free_bits, "minutes": opts.minutes,
                "init_from": opts.init_from, "init_from_fingerprint": started_from, "init_partial": opts.init_partial,
            })
            record["best"] = _keep_if_best(out, test_bpd, best)
            best = min(best, test_bpd)
            with open(out / LOG_NAME, "a") as log:  # last: a logged epoch has its model file
                log.write(json.dumps(record) + "\n")
            say(f"epoch {epoch}: train {record['train_bpd']:.4f} bits/dim, {source.held_out} -ELBO {test_bpd:.4f} bits/dim, "
                f"{elapsed / 60:.1f} min" + (" (best so far)" if record["best"] else ""))
    if ddp.world > 1:
        dist.barrier()  # rank 0 may still be evaluating and saving the last epoch
        dist.destroy_process_group()
    return out / WEIGHTS_NAME

