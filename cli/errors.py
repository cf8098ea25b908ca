"""What the user can fix ends in one line with exit status 1; anything else is a bug in bbvae and says so, in one
line asking for a report, with exit status 2. `--debug` or BBVAE_DEBUG=1 prints the traceback as well."""

from __future__ import annotations

import functools
import os
import sys
import traceback

import click

from bbvae.errors import BbvaeError

DEBUG = "bbvae.debug"  # the key of --debug in click's context meta, which every subcommand's context shares


class UserError(click.ClickException, BbvaeError):
    """Printed as `bbvae: error: MESSAGE`, exit status 1."""

    def show(self, file=None):
        click.echo(f"bbvae: error: {self.format_message()}", err=True)


class InternalError(click.ClickException):
    """A bug in bbvae: printed as `bbvae: MESSAGE`, exit status 2."""

    exit_code = 2

    def show(self, file=None):
        click.echo(f"bbvae: {self.format_message()}", err=True)


def _set_debug(ctx, _param, value):
    ctx.meta[DEBUG] = value


debug_option = click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
                            help="on an error, print its traceback too (as BBVAE_DEBUG=1 does)")


def _debugging() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.meta.get(DEBUG)) or os.environ.get("BBVAE_DEBUG", "") not in ("", "0")


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _reported(exc: Exception, debug: bool) -> click.ClickException:
    """The one line an exception from a command ends with."""
    if isinstance(exc, click.ClickException):
        return exc
    if isinstance(exc, BbvaeError):
        return UserError(_first_line(exc))
    if isinstance(exc, OSError):  # the user's files: missing, unreadable, a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        return UserError(f"{where}{(exc.strerror or str(exc)).lower()}")
    message = f"{type(exc).__name__}: {_first_line(exc)}" if str(exc) else type(exc).__name__
    return InternalError(f"internal error ({message}); this is a bug in bbvae, please report it with the command you ran"
                         + ("" if debug else " (rerun with --debug or BBVAE_DEBUG=1 for the traceback)"))


def user_errors(command):
    """End a command's failures in one line: status 1 for the user's, 2 for bbvae's bugs; Ctrl-C exits 130 quietly."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (click.exceptions.Exit, click.exceptions.Abort, BrokenPipeError):
            raise  # click's own endings; a closed pipe (the reader of our output left) click ends quietly
        except KeyboardInterrupt:
            sys.exit(130)
        except Exception as exc:
            debug = _debugging()
            if debug:
                click.echo(traceback.format_exc().rstrip(), err=True)
            raise _reported(exc, debug) from None

    return wrapper
