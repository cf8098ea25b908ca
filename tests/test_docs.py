"""The code in docs/CODER.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "CODER.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_documented_example_runs(code):
    exec(compile(code, str(DOC), "exec"), {})


def test_the_doc_has_examples():
    assert len(BLOCKS) >= 3
