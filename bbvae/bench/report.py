"""Benchmark plumbing: timing, and results written to benchmarks/results/ (JSON and table; results_dir; charts in charts.py)."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path


def results_dir() -> Path:
    """$BBVAE_RESULTS, else the checkout's benchmarks/results/ when bbvae runs from one, else the current
    directory (never inside an installed package)."""
    env = os.environ.get("BBVAE_RESULTS")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2] / "benchmarks"
    return checkout / "results" if checkout.is_dir() else Path.cwd()


def dataset_label(dataset: str) -> str:
    """A dataset's name for result files: a folder's own name, not its path."""
    return Path(dataset).name or "dataset"


def best_time(function, repeats: int = 1) -> tuple[float, object]:
    """The fastest of `repeats` runs in seconds, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        began = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - began)
    return best, result


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    def cell(value):
        if value is None:
            return "-"
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, summary: dict, rows: list[dict], table: str) -> Path:
    """NAME.json (summary, rows, machine, command) and NAME.md (the table) under results_dir()."""
    import sys

    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "summary": summary, "rows": rows, "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "machine": {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()},
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    (folder / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    (folder / f"{name}.md").write_text(table + "\n")
    return folder / f"{name}.json"


def publish(name: str, summary: dict, rows: list[dict], as_json: bool) -> Path:
    """A benchmark's ending: write_results with the rows' table, print the table, and the summary as one JSON
    line when asked."""
    table = markdown_table(rows, list(rows[0]))
    path = write_results(name, summary, rows, table)
    print(table)
    if as_json:
        print(json.dumps(summary))
    return path
