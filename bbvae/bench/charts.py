"""The benchmark charts, drawn with matplotlib (the bench extra): labelled axes, and value axes that start
near the smallest value, so that the 0.5 to 2% differences that matter between codecs stay visible."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def bar_chart(path: Path, labels: list[str], values: list[float], title: str, highlight: int | None = None,
              xlabel: str = "bits/dim (lower is better)") -> Path:
    """Horizontal bars, one per label, the highlighted one in another colour; the axis spans the values."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 0.45 * len(labels) + 1.4))
    colours = ["#d6604d" if index == highlight else "#4393c3" for index in range(len(labels))]
    low, high = min(values), max(values)
    margin = max(high - low, 0.02 * high) * 0.15
    left = max(0.0, low - 4 * margin)
    axes.barh(range(len(labels)), [value - left for value in values], left=left, color=colours)
    for index, value in enumerate(values):
        axes.text(value + margin / 4, index, f"{value:.4f}", va="center", fontsize=9)
    axes.set_yticks(range(len(labels)), labels)
    axes.invert_yaxis()
    axes.set_xlim(left, high + 3 * margin)
    axes.set_xlabel(xlabel)
    axes.set_title(title, fontsize=10)
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def rate_speed_chart(path: Path, points: dict[str, tuple[float, float]], title: str, highlight: str | None = None) -> Path:
    """Codecs as points of (encode Mpix/s, bits/dim): faster to the right (log scale), smaller lower."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 5))
    for label, (speed, rate) in points.items():
        axes.scatter(speed, rate, color="#d6604d" if label == highlight else "#4393c3", zorder=3)
        axes.annotate(label, (speed, rate), textcoords="offset points", xytext=(6, 4), fontsize=9)
    axes.set_xscale("log")
    axes.set_xlabel("encode speed, megapixels per second (log scale)")
    axes.set_ylabel("bits/dim (lower is better)")
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3, which="both")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
