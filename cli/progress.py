"""Progress bars on stderr, silent under --quiet."""

from __future__ import annotations

import sys

import click


class LossBar:
    """Iterates like click's progress bar and shows the running loss, which the loop updates."""

    def __init__(self, items, label: str):
        self.items = items
        self.label = label
        self.loss = float("nan")

    def _show(self, _item) -> str:
        return "" if self.loss != self.loss else f"{self.loss:.4f} bits/dim"  # nothing before the first batch

    def __iter__(self):
        with click.progressbar(self.items, label=self.label, file=sys.stderr,
                               item_show_func=self._show) as bar:
            yield from bar
