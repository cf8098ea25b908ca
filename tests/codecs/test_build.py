"""codec_for, the library's one way to a model's codec, with only the arguments a caller must know."""

from __future__ import annotations

from bbvae.codecs.build import codec_for
from bbvae.format.precisions import GROUP_SIZE, Precisions
from bbvae.models.arithmetic import PORTABLE
from bbvae.models.modelfile import DEFAULT_MODEL, resolve


def test_a_whole_image_model_s_codec_needs_no_group_size():
    path = str(resolve(DEFAULT_MODEL))
    default = codec_for(path, Precisions.for_images(2), PORTABLE)
    assert default.group_size == GROUP_SIZE
    assert codec_for(path, Precisions.for_images(2), PORTABLE, GROUP_SIZE).group_size == GROUP_SIZE
