"""The command's "compiling coder kernels, once" line rests on telling a compiled cache from an empty one."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from bbvae.coder import Message, codecs
from bbvae.coder.kernel_cache import kernels_compiled

PROBE = "from bbvae.coder.kernel_cache import kernels_compiled; print(kernels_compiled())"


def test_an_empty_numba_cache_is_told_from_a_compiled_one(tmp_path):
    uniform = codecs.Uniform(4, shape=8)
    uniform.pop(uniform.push(Message(), np.arange(8)))  # this process has compiled or loaded the kernels
    assert kernels_compiled(("bounds_kernel", "push_kernel", "pop_kernel"))
    empty = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                           env={"NUMBA_CACHE_DIR": str(tmp_path), "PATH": ""}, check=True)
    assert empty.stdout.strip() == "False"
