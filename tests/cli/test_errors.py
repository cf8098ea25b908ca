"""What a failure looks like (issue #14): a user's mistake ends in one line with status 1; a bug in bbvae ends in one
line asking for a report with status 2; `--debug` or BBVAE_DEBUG=1 adds the traceback to either."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from helpers import run_cli

from bbvae.cli.main import cli
from bbvae.errors import BbvaeError

REPORT = "this is a bug in bbvae, please report it with the command you ran"
RERUN = " (rerun with --debug or BBVAE_DEBUG=1 for the traceback)"


class DamagedError(BbvaeError):
    """A user error that no other part of bbvae raises: only its base class tells the CLI what it is."""


def _decompress_raising(exc, tmp_path, monkeypatch, *options, env=None):
    """`bbvae OPTIONS decompress FILE`, in this process, with the first step of reading FILE raising exc."""
    def unpack(_data):
        raise exc

    monkeypatch.delenv("BBVAE_DEBUG", raising=False)
    monkeypatch.setattr("bbvae.format.container.unpack", unpack)
    (tmp_path / "some.bbv").write_bytes(b"bbvae")
    return CliRunner().invoke(cli, [*options, "decompress", str(tmp_path / "some.bbv")], env=env)


def test_a_user_error_ends_in_one_line_with_status_1(tmp_path, monkeypatch):
    result = _decompress_raising(DamagedError("the file is damaged\nsecond line"), tmp_path, monkeypatch)
    assert (result.exit_code, result.stderr) == (1, "bbvae: error: the file is damaged\n")


@pytest.mark.parametrize("exc, shown", [(ValueError("bad shape\nmore"), "ValueError: bad shape"),
                                        (IndexError("list index out of range"), "IndexError: list index out of range"),
                                        (RuntimeError(), "RuntimeError")])
def test_a_bug_says_so_in_one_line_with_status_2(exc, shown, tmp_path, monkeypatch):
    result = _decompress_raising(exc, tmp_path, monkeypatch)
    assert (result.exit_code, result.stderr) == (2, f"bbvae: internal error ({shown}); {REPORT}{RERUN}\n")


@pytest.mark.parametrize("options, env", [(["--debug"], None), ([], {"BBVAE_DEBUG": "1"})])
def test_debug_prints_the_traceback_of_a_bug_and_of_a_user_error(options, env, tmp_path, monkeypatch):
    bug = _decompress_raising(ValueError("bad shape"), tmp_path, monkeypatch, *options, env=env)
    assert bug.exit_code == 2 and bug.stderr.startswith("Traceback (most recent call last):\n")
    assert "in unpack\n" in bug.stderr
    assert bug.stderr.splitlines()[-2:] == ["ValueError: bad shape", f"bbvae: internal error (ValueError: bad shape); {REPORT}"]
    user = _decompress_raising(DamagedError("the file is damaged"), tmp_path, monkeypatch, *options, env=env)
    assert user.exit_code == 1 and user.stderr.startswith("Traceback (most recent call last):\n")
    assert user.stderr.splitlines()[-1] == "bbvae: error: the file is damaged"


@pytest.mark.parametrize("options, env", [(["--debug"], {}), ([], {"BBVAE_DEBUG": "1"})])
def test_debug_works_from_the_command_line(options, env, tmp_path):
    """As a user runs it: a missing file and a file that is not a .bbv stay user errors, now with their traceback."""
    missing = run_cli(*options, "info", str(tmp_path / "missing.bbv"), env=env)
    assert missing.returncode == 1 and "Traceback (most recent call last):" in missing.stderr
    assert missing.stderr.splitlines()[-1] == f"bbvae: error: {tmp_path / 'missing.bbv'}: no such file or directory"
    (tmp_path / "junk.bbv").write_bytes(b"not a bbvae file at all")
    junk = run_cli(*options, "info", str(tmp_path / "junk.bbv"), env=env)
    assert junk.returncode == 1 and "Traceback (most recent call last):" in junk.stderr
    assert junk.stderr.splitlines()[-1].startswith("bbvae: error: ")
