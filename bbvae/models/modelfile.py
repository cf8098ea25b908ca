"""Model files: safetensors weights plus JSON config, training info and a fingerprint.

safetensors holds only tensors and strings, so loading a model file never runs
code (unlike pickle). The fingerprint is a hash of the weights; the container
format records it so that a file is only ever decoded by the model that made it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from bbvae.errors import BbvaeError
from bbvae.io.atomic import atomic_path
from bbvae.models.defaults import DEFAULT_MODEL as DEFAULT_MODEL  # noqa: F401  (its importers read it here)
from bbvae.models.defaults import PHOTO_MODEL as PHOTO_MODEL  # noqa: F401
from bbvae.models.vae import VAE, ModelConfig

FORMAT_TAG = "bbvae-model"
FORMAT_VERSION = "1"
WEIGHTS_NAME = "model.safetensors"


class ModelFileError(BbvaeError):
    """A model file is missing, damaged or not a bbvae model."""


CODEC_PREFIX = "codec."  # tensors that belong to the codec, not the network (covered by the fingerprint)
FIRST_LATENT_BITS = "first_latent_bits"  # bits per latent for a directly coded image (bbvae/training/allocation.py)
MAX_LATENT_BITS = 12


@dataclass
class ModelInfo:
    config: ModelConfig
    fingerprint: str
    path: Path
    info: dict = field(default_factory=dict)    # training facts: dataset, epochs, test bits/dim...
    codec: dict = field(default_factory=dict)   # coding tables stored with the weights, e.g. first_latent_bits


def fingerprint(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def save_model(path: str | os.PathLike, model: VAE, info: dict | None = None, codec: dict | None = None) -> str:
    """Write the model (and its codec tables) atomically; returns its fingerprint."""
    from safetensors.torch import save_file

    state = {name: t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    state.update({CODEC_PREFIX + name: torch.as_tensor(table).contiguous() for name, table in (codec or {}).items()})
    fp = fingerprint(state)
    metadata = {
        "format": FORMAT_TAG,
        "format_version": FORMAT_VERSION,
        "config": json.dumps(model.cfg.to_dict()),
        "fingerprint": fp,
        "info": json.dumps(info or {}),
    }
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=metadata)
    return fp


def models_dir() -> Path:
    """Shipped models: $BBVAE_MODELS, else the package bbvae.zoo (models/ installed inside the wheel, or the
    checkout's models/ in an editable install), else the checkout's models/ folder."""
    env = os.environ.get("BBVAE_MODELS")
    return Path(env) if env else _installed_models()


@functools.cache
def _installed_models() -> Path:
    """models_dir without $BBVAE_MODELS: where the installation put them, found once per process (the search
    costs half a millisecond, paid by every decompression that looks for its file's model)."""
    spec = importlib.util.find_spec("bbvae.zoo")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parents[2] / "models"


def resolve(name_or_path: str | os.PathLike) -> Path:
    """A shipped model's name, a model folder or a .safetensors file -> the weights file."""
    candidate = Path(name_or_path)
    if candidate.is_dir():
        candidate = candidate / WEIGHTS_NAME
    elif not candidate.exists() and os.sep not in str(name_or_path) and not candidate.suffix:
        candidate = models_dir() / str(name_or_path) / WEIGHTS_NAME
    if not candidate.is_file():
        raise ModelFileError(f"model not found: {name_or_path} (see `bbvae models`)")
    return candidate


def load_model(name_or_path: str | os.PathLike) -> tuple[VAE, ModelInfo]:
    """Load a model in eval mode, checking its format tag and fingerprint."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = resolve(name_or_path)
    try:
        raw = path.read_bytes()
        state = load(raw)
        metadata = _read_metadata(raw)
    except (SafetensorError, ValueError, OSError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: not a readable model file ({_first_line(exc)})") from None
    if metadata.get("format") != FORMAT_TAG:
        raise ModelFileError(f"{path}: not a bbvae model file")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: model format {metadata.get('format_version')} is not supported by this bbvae")
    try:
        info = json.loads(metadata.get("info", "{}"))
        config = ModelConfig.from_dict(_with_patches(json.loads(metadata["config"]), info))
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelFileError(f"{path}: bad model config ({_first_line(exc)})") from None
    try:
        fp = fingerprint(state)
        codec = {name[len(CODEC_PREFIX):]: state.pop(name).numpy() for name in list(state) if name.startswith(CODEC_PREFIX)}
    except (RuntimeError, TypeError) as exc:
        raise ModelFileError(f"{path}: unreadable tensors ({_first_line(exc)})") from None
    if fp != metadata.get("fingerprint"):
        raise ModelFileError(f"{path}: weights do not match their fingerprint (damaged file)")
    if not all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point()):
        raise ModelFileError(f"{path}: the weights hold NaN or infinite values (a diverged training run?)")
    _check_codec_tables(path, codec, config)
    model = VAE(config)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelFileError(f"{path}: weights do not fit the config ({_first_line(exc)})") from None
    model.eval()
    return model, ModelInfo(config=config, fingerprint=fp, path=path, info=info, codec=codec)


def _with_patches(config: dict, info: dict) -> dict:
    """Model files written before ModelConfig.patches existed said it only in their training log."""
    return config if "patches" in config else {**config, "patches": bool(info.get("patch"))}


@functools.lru_cache(maxsize=8)
def cached_model(path: str) -> tuple[VAE, ModelInfo]:
    """load_model of a weights file, once per process: the one cache every codec is built from."""
    return load_model(path)


def _check_codec_tables(path: Path, codec: dict, config: ModelConfig) -> None:
    bits = codec.get(FIRST_LATENT_BITS)
    if bits is not None and not (np.issubdtype(bits.dtype, np.integer) and bits.shape == (config.latent,)
                                 and bits.min() >= 0 and bits.max() <= MAX_LATENT_BITS):
        raise ModelFileError(f"{path}: bad {FIRST_LATENT_BITS} table (need {config.latent} integers 0..{MAX_LATENT_BITS})")


def stated_fingerprint(folder: Path) -> str | None:
    """The fingerprint a model folder's weights file states in its header, read without its weights (None if
    unreadable): enough to pick the model of a .bbv file, which load_model then checks in full."""
    try:
        with open(folder / WEIGHTS_NAME, "rb") as file:
            size = int.from_bytes(file.read(8), "little")
            metadata = _read_metadata(size.to_bytes(8, "little") + file.read(min(size, 1 << 20)))
    except (OSError, ValueError):
        return None
    fp = metadata.get("fingerprint")
    return fp if isinstance(fp, str) else None


def _read_metadata(raw: bytes) -> dict:
    # safetensors layout: 8-byte little-endian header length, then a JSON header.
    if len(raw) < 8:
        raise ValueError("file too short")
    size = int.from_bytes(raw[:8], "little")
    if size > len(raw) - 8:
        raise ValueError("truncated header")
    return json.loads(raw[8:8 + size]).get("__metadata__", {})


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


_shipped_fingerprints: dict[Path, dict[str, Path]] = {}


def shipped_model(fingerprint_prefix: str) -> Path | None:
    """The shipped model folder whose weights state a fingerprint starting with the prefix a .bbv file holds.

    The fingerprints of the shipped models are read once per process and models folder (one header read per
    folder), and read again when none matches, in case a model was installed since; the folder found is
    checked against its header, in case its weights were replaced since.
    """
    root = models_dir()
    scans = (False, True) if root in _shipped_fingerprints else (True,)  # a scan made by this call is not repeated
    for scan in scans:
        if scan:
            _shipped_fingerprints[root] = {fp: folder for folder in model_folders() if (fp := stated_fingerprint(folder))}
        for fp, folder in _shipped_fingerprints[root].items():
            if fp.startswith(fingerprint_prefix) and stated_fingerprint(folder) == fp:
                return folder
    return None


def is_shipped(weights: Path) -> bool:
    """Whether a weights file is a shipped model's (models_dir()/NAME/model.safetensors): a file made with it
    needs no model name, since the decoder finds the model by its fingerprint among the shipped ones."""
    try:
        return weights.name == WEIGHTS_NAME and weights.resolve().parent.parent == models_dir().resolve()
    except OSError:
        return False


def model_folders() -> list[Path]:
    """The folders under models_dir() that hold a weights file, by name."""
    root = models_dir()
    return sorted(p for p in root.iterdir() if (p / WEIGHTS_NAME).is_file()) if root.is_dir() else []
