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


# No level above 2: WebP's method 6 took several times longer and chose the same files on the validation
# photographs (issue #16's note), and the shift search already tries every shift, so the default is the
# strongest setting.
EFFORTS = {
    1: Effort(scale_shifts=False, webp_method=2),  # the model as trained and a quicker WebP
    2: Effort(scale_shifts=True, webp_method=5),  # WebP's method 6 is several times slower for about 2%
}
DEFAULT_EFFORT = 2


def effort(level: int) -> Effort:
    """The settings of an effort level; ValueError naming the levels for any other."""
    if level not in EFFORTS:
        raise ValueError(f"effort must be one of {', '.join(map(str, EFFORTS))}, got {level}")
    return EFFORTS[level]
