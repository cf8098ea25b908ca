"""The entropy coder: a Numba rANS message and composable codecs (push/pop pairs)."""

from .codecs import (
    Bernoulli,
    BitsBack,
    Categorical,
    Codec,
    DiscretizedLogistic,
    IntegerCdf,
    MixtureDiscretizedLogistic,
    Repeat,
    Serial,
    Uniform,
)
from .importance import ImportanceBitsBack
from .latents import GaussianPosterior, LatentBins, MixturePrior
from .message import CoderError, Message

__all__ = [
    "Bernoulli", "BitsBack", "Categorical", "Codec", "CoderError", "DiscretizedLogistic",
    "GaussianPosterior", "ImportanceBitsBack", "IntegerCdf", "LatentBins", "Message", "MixtureDiscretizedLogistic", "MixturePrior", "Repeat",
    "Serial", "Uniform",
]
