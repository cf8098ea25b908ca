"""Atomic writes: a reader never sees half a file, and without replace a file that appeared meanwhile stays."""

from __future__ import annotations

import os

import pytest

from bbvae.io.atomic import atomic_path, write_bytes_atomic


def test_without_replace_a_file_that_appeared_meanwhile_is_kept(tmp_path):
    target = tmp_path / "out.bbv"
    with pytest.raises(FileExistsError, match="appeared while bbvae was writing it"):
        with atomic_path(target, replace=False) as tmp:
            tmp.write_bytes(b"second run")
            target.write_bytes(b"first run")  # another process finished first
    assert target.read_bytes() == b"first run" and [p.name for p in tmp_path.iterdir()] == ["out.bbv"]
    write_bytes_atomic(target, b"forced", replace=True)
    assert target.read_bytes() == b"forced"


def test_an_interrupt_just_after_the_temporary_file_is_made_leaves_nothing(tmp_path, monkeypatch):
    """Ctrl-C can land between the temporary file's creation and anything done with it (the training
    interrupt test once found such a file left behind): its name is known before it exists."""
    close = os.close

    def interrupted(fd):
        close(fd)
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "close", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_bytes_atomic(tmp_path / "out.bin", b"data")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
