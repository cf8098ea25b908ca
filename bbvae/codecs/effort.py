"""The encoder's effort (`bbvae compress -e N`, as cjxl's `-e`): how hard it searches for a smaller file.

Decoding never depends on it: every choice the search makes is stored in the file. Effort 2 is the
default. A light module (no numpy), so that
the command's options can name the levels without loading the coder.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Effort:
    scale_shifts: bool  # search a log-scale shift per patch and channel (bbvae/codecs/scale_shifts.py)
    webp_method: int    # libwebp's own effort (0..6) for the lossless WebP fallback
    webp_quality: int   # and its quality (0..100), which for lossless files is effort too


# libwebp's settings from `python benchmarks/webp_settings.py FOLDER` on the validation photographs: at method
# 5, quality 100 takes 2.4 times as long as 90 for 0.14% smaller files, and method 6 eight times as long again
# for 0.28% more; method 3 at quality 75 takes method 2's time at quality 100 for 1.3% less. WebP's size only
# counts where WebP wins. Every level with shifts searches them alike (bbvae/codecs/scale_shifts.py).
EFFORTS = {
    1: Effort(scale_shifts=False, webp_method=3, webp_quality=75),  # the model as trained and a quicker WebP
    2: Effort(scale_shifts=True, webp_method=5, webp_quality=90),
    3: Effort(scale_shifts=True, webp_method=5, webp_quality=100),  # the most WebP search worth its time
}
DEFAULT_EFFORT = 2


def effort(level: int) -> Effort:
    """The settings of an effort level; ValueError naming the levels for any other."""
    if level not in EFFORTS:
        raise ValueError(f"effort must be one of {', '.join(map(str, EFFORTS))}, got {level}")
    return EFFORTS[level]
