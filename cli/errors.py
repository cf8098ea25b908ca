"""One-line errors with a non-zero exit, never a traceback."""

from __future__ import annotations

import functools
import sys

import click


class UserError(click.ClickException):
    """Printed as `bbvae: error: MESSAGE`, exit status 1."""

    def show(self, file=None):
        click.echo(f"bbvae: error: {self.format_message()}", err=True)


def user_errors(command):
    """Turn the library's expected failures into UserError; Ctrl-C exits 130 quietly."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from bbvae.api import CompressionError
        from bbvae.coder import CoderError
        from bbvae.datasets.sources import DataError
        from bbvae.format.container import ContainerError
        from bbvae.io.images import ImageError
        from bbvae.models.modelfile import ModelFileError

        try:
            return command(*args, **kwargs)
        except (CompressionError, CoderError, ContainerError, DataError, ImageError, ModelFileError, ValueError) as exc:
            raise UserError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
        except BrokenPipeError:
            raise  # the reader of our output left: click ends quietly
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise UserError(f"{where}{(exc.strerror or str(exc)).lower()}") from None
        except KeyboardInterrupt:
            sys.exit(130)

    return wrapper
