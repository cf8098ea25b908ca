"""Shared test settings: hypothesis without deadlines (Numba compiles on first call); a tiny photo model."""

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "bbvae", deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("bbvae")


@pytest.fixture(scope="session")
def photo_models(tmp_path_factory):
    """A models folder whose default photo model (PHOTO_MODEL) is a tiny, briefly trained patch model
    (helpers.trained_photo_model)."""
    from helpers import trained_photo_model

    from bbvae.models.defaults import PHOTO_MODEL
    from bbvae.models.modelfile import save_model

    root = tmp_path_factory.mktemp("models")
    model = trained_photo_model()
    save_model(root / PHOTO_MODEL / "model.safetensors", model, {"dataset": "ar_image", "patch": model.cfg.height})
    return root


@pytest.fixture
def photo_env(photo_models, monkeypatch):
    """BBVAE_MODELS pointing at photo_models, so that the default photo model is the tiny one (in this process)."""
    monkeypatch.setenv("BBVAE_MODELS", str(photo_models))
    return photo_models
