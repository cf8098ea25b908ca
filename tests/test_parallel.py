"""The threads that run beside the model path (bbvae/parallel.py)."""

from __future__ import annotations

import os
import sys
from concurrent.futures import TimeoutError

import pytest

from bbvae import parallel


def test_work_beside_runs_and_reports_its_errors():
    assert parallel.beside(int, "7").result() == 7
    with pytest.raises(ValueError):
        parallel.beside(int, "seven").result()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_starts_threads_of_its_own():
    """A child has none of its parent's threads: work it hands to the parent's kept pool would never run."""
    assert parallel.beside(int, "7").result() == 7  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # the child reports by its exit code and never returns into pytest
        try:
            code = 0 if parallel.beside(int, "8").result(timeout=10) == 8 else 2
        except TimeoutError:
            code = 3
        sys.stdout.flush()
        os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
