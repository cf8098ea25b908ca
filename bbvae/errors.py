"""The one base class of the errors a user can cause, so that callers (the CLI first) can tell them from bugs:
a BbvaeError is reported in one line; any other exception escaping bbvae is a bug in it."""


class BbvaeError(Exception):
    """An error the user can cause: bad input, a damaged file, a missing model; its message is one line saying what is wrong."""


class ConfigError(BbvaeError, ValueError):
    """Settings that do not fit together: a model's architecture, a training run's options."""
