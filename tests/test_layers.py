"""Imports run only down the pipeline (docs/ARCHITECTURE.md): a module imports its own layer or those below it.

Coding code (coder, format, models, codecs) never imports dataset, training or
measurement code, and the coder never imports torch.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["errors", "coder", "io", "format", "models", "codecs", "api", "datasets", "training", "bench", "cli"]
SAME_LAYER = {"parallel": "api"}  # top-level modules that sit in a layer of their own name


def _layer(module: str) -> int:
    """bbvae.codecs.images -> the index of 'codecs'."""
    part = module.split(".")[1]
    return LAYERS.index(SAME_LAYER.get(part, part))


def _modules():
    for path in sorted((ROOT / "bbvae").rglob("*.py")):
        if path.name != "__init__.py" or path.parent.name != "bbvae":
            yield "bbvae." + ".".join(path.relative_to(ROOT / "bbvae").with_suffix("").parts), path
    for path in sorted((ROOT / "cli").rglob("*.py")):
        yield "bbvae.cli." + path.stem, path


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_imports_run_down_the_pipeline():
    wrong = []
    for module, path in _modules():
        for imported in _imports(path):
            if imported.startswith("bbvae.") and _layer(imported) > _layer(module):
                wrong.append(f"{module} imports {imported}")
    assert not wrong, "\n".join(wrong)


def test_the_coder_does_not_import_torch():
    users = [module for module, path in _modules() if module.startswith("bbvae.coder") and
             any(name.split(".")[0] == "torch" for name in _imports(path))]
    assert not users


def test_the_layers_name_every_subpackage():
    packages = {p.name for p in (ROOT / "bbvae").iterdir() if (p / "__init__.py").exists()}
    modules = {p.stem for p in (ROOT / "bbvae").glob("*.py") if p.stem != "__init__"}
    assert packages | modules == (set(LAYERS) - {"cli"}) | set(SAME_LAYER)


def test_the_wheel_lists_every_package():
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.relative_to(ROOT).parts) for p in (ROOT / "bbvae").rglob("*") if (p / "__init__.py").exists()}
    assert found | {"bbvae", "bbvae.cli", "bbvae.zoo"} == listed
