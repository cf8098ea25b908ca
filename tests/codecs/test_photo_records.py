"""Photo containers: every image mode comes back exactly, each image takes its smallest path, damage is refused."""

from __future__ import annotations

import io
import json
import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from helpers import ar_image, run_cli, with_fixed_crc
from PIL import Image

import bbvae
from bbvae import api
from bbvae.api import CompressionError
from bbvae.codecs import classical as fallback
from bbvae.codecs import photos as photo_api
from bbvae.codecs.build import codec_for
from bbvae.codecs.effort import EFFORTS
from bbvae.errors import BbvaeError
from bbvae.format import container
from bbvae.format.container import ContainerError
from bbvae.format.precisions import GROUP_SIZE, PHOTOS
from bbvae.io.images import ImageError, read_image, same_image
from bbvae.models import arithmetic
from bbvae.models.modelfile import DEFAULT_MODEL, PHOTO_MODEL

DATA = Path(__file__).parent.parent / "data"
RECORD_HEAD = 2  # a photo record's mode and path bytes before a classical file


def palette_image(width: int = 13, height: int = 9, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 6, (height, width), dtype=np.uint8), mode="P")
    image.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 250, 250, 0, 9, 99, 199])
    image.info["transparency"] = 2
    return image


@pytest.fixture(scope="module")
def images() -> dict:
    """Images by name. Smooth ar_image pixels go the model's way (the tiny model is trained on such
    pixels); noise, palette and bilevel images go the classical way."""
    rgb = ar_image(24, 24, seed=10)
    grey = np.ascontiguousarray(rgb[:, :, 0])
    alpha = np.tile((np.arange(24) * 10).astype(np.uint8), (24, 1))
    rng = np.random.default_rng(1)
    return {
        "L": grey,
        "LA": np.dstack([grey, alpha]),
        "RGB": rgb,
        "RGBA": np.dstack([rgb, alpha]),
        "noise RGB": rng.integers(0, 256, (7, 5, 3), dtype=np.uint8),
        "noise LA": rng.integers(0, 256, (6, 9, 2), dtype=np.uint8),
        "flat RGBA": np.full((5, 4, 4), 200, np.uint8),
        "P": palette_image(),
        "1": Image.fromarray(rng.integers(0, 2, (10, 17)).astype(bool)),
    }


EXPECTED_PATH = {"L": "model", "LA": "model", "RGB": "model", "RGBA": "model", "noise RGB": "classical",
                 "noise LA": "classical", "flat RGBA": "classical", "P": "classical", "1": "classical"}


def paths(data: bytes) -> list[str]:
    return [entry["path"] for entry in api.describe_container(data)["paths"]]


@pytest.mark.parametrize("name", EXPECTED_PATH)
def test_round_trip_in_every_mode_on_the_expected_path(photo_env, images, name):
    image = images[name]
    data = bbvae.compress([image])
    (restored,) = bbvae.decompress(data)
    assert same_image(restored, image)
    assert isinstance(restored, Image.Image) == isinstance(image, Image.Image)
    facts = api.describe_container(data)
    assert facts["model"] == PHOTO_MODEL and facts["images"] == 1
    (stored,) = facts["paths"]
    assert stored["mode"] == photo_api.mode_of(image)
    assert ("model" if stored["path"] == "model" else "classical") == EXPECTED_PATH[name]


def test_palette_and_transparency_survive(photo_env, images):
    (restored,) = bbvae.decompress(bbvae.compress([images["P"]]))
    assert restored.mode == "P" and restored.info.get("transparency") == 2
    assert restored.getpalette()[:18] == images["P"].getpalette()[:18]
    np.testing.assert_array_equal(np.asarray(restored), np.asarray(images["P"]))


def test_many_images_in_one_container_each_on_its_own_path(photo_env, images):
    names = [f"{key.replace(' ', '_')}.png" for key in images]
    data = bbvae.compress(list(images.values()), names=names)
    box, restored = api.decompress_container(data)
    assert box.names == names and box.photos and len(box.segments) == len(images)
    for original, back in zip(images.values(), restored):
        assert same_image(original, back)
    expected = [EXPECTED_PATH[key] for key in images]
    assert [("model" if p == "model" else "classical") for p in paths(data)] == expected


def test_the_chosen_record_is_never_larger_than_png_or_webp(photo_env, images):
    for name, image in images.items():
        data = bbvae.compress([image])
        (stored,) = api.describe_container(data)["paths"]
        classical = min(len(encoded) for encoded in fallback.encodings(image).values())
        assert stored["bytes"] <= classical + RECORD_HEAD, name
        if stored["path"] == "model":
            assert stored["bytes"] < classical + RECORD_HEAD, name
        else:  # the classical record is exactly the smaller file
            assert stored["bytes"] == classical + RECORD_HEAD, name
        assert len(data) - stored["bytes"] < 48, name  # the container around one record is small


@pytest.mark.parametrize("height, width, level, paths", [(64, 64, fallback.STRONG_PNG_LEVEL, ["png", "webp"]),
                                                         (64, 65, fallback.QUICK_PNG_LEVEL, ["png", "webp"]),
                                                         (1, 16384, fallback.STRONG_PNG_LEVEL, ["png"])])
def test_png_is_strong_on_small_images_and_where_webp_cannot_hold_them(height, width, level, paths):
    image = ar_image(height, width, seed=1)
    made = dict(fallback.each_encoding(image))
    assert list(made) == paths
    assert made["png"] == fallback.encode_png(image, level)
    assert fallback.encode_png(image, fallback.QUICK_PNG_LEVEL) != fallback.encode_png(image, fallback.STRONG_PNG_LEVEL)


def test_palette_and_bilevel_images_never_take_the_model_path(photo_env, images):
    for image in (images["P"], images["1"], palette_image(40, 40, seed=3)):
        record = photo_api.encode_record(image, str(photo_env / PHOTO_MODEL / "model.safetensors"))
        assert record.path == "png" and record.mode == image.mode
    with pytest.raises(ContainerError, match="no model path"):
        container.PhotoRecord.from_bytes(container.PhotoRecord("P", "model", b"\x00" * 12).to_bytes(), 1)


def test_classical_records_decode_without_any_model_installed(photo_env, images, tmp_path, monkeypatch):
    classical = [images["P"], images["noise RGB"], images["1"]]
    data = bbvae.compress(classical)
    with_model = bbvae.compress([images["RGB"]])
    monkeypatch.setenv("BBVAE_MODELS", str(tmp_path / "no models here"))
    for original, back in zip(classical, bbvae.decompress(data)):
        assert same_image(original, back)
    with pytest.raises(CompressionError, match=r"needs a model \(fingerprint"):
        bbvae.decompress(with_model)
    assert same_image(bbvae.decompress(with_model, model=photo_env / PHOTO_MODEL)[0], images["RGB"])


def test_model_choice():
    digit = np.zeros((28, 28), np.uint8)
    assert api.choose_model([digit, digit[:, :, None]]) == DEFAULT_MODEL
    assert api.choose_model([digit, np.zeros((28, 28, 3), np.uint8)]) == PHOTO_MODEL
    assert api.choose_model([np.zeros((8, 8), np.uint8)]) == PHOTO_MODEL
    assert api.choose_model([palette_image(28, 28)]) == PHOTO_MODEL
    assert api.choose_model([]) == PHOTO_MODEL


@pytest.mark.parametrize("bad,message", [
    (Image.new("CMYK", (4, 4)), "mode CMYK is not supported"),
    (np.zeros((4, 4), np.uint16), "uint8"),
    (np.zeros((4, 4, 5), np.uint8), "uint8"),
    (np.zeros((0, 4), np.uint8), "outside"),
])
def test_images_a_photo_container_cannot_hold_are_refused(photo_env, bad, message):
    with pytest.raises(BbvaeError, match=message):
        bbvae.compress([bad])


def test_a_single_channel_axis_is_grey(photo_env):
    grey = np.arange(30, dtype=np.uint8).reshape(5, 6)
    np.testing.assert_array_equal(bbvae.decompress(bbvae.compress([grey[:, :, None]]))[0], grey)


# --- damage -----------------------------------------------------------------------------------------


def test_flipped_payload_bytes_are_refused_or_harmless(photo_env, images):
    """Every damaged payload byte (with the file checksum made to match) is a ContainerError or a
    CompressionError, never another exception and never different pixels."""
    originals = [images["RGBA"], images["P"]]
    data = bbvae.compress(originals)
    box = container.unpack(data)
    assert paths(data) == ["model", "png"]
    rng = np.random.default_rng(0)
    refused = 0
    for segment in box.segments:
        start = data.index(segment.payload)
        for position in rng.choice(np.arange(start, start + len(segment.payload)), 30, replace=False):
            damaged = bytearray(data)
            damaged[position] ^= 1 << int(rng.integers(8))
            with pytest.raises(ContainerError, match="checksum"):
                bbvae.decompress(bytes(damaged))
            try:
                restored = bbvae.decompress(with_fixed_crc(bytes(damaged)))
            except (ContainerError, CompressionError) as exc:
                assert len(str(exc).splitlines()) == 1
                refused += 1
                continue
            assert all(same_image(a, b) for a, b in zip(originals, restored)), position
    assert refused > 30  # most flips are caught (a flip in a PNG chunk CRC or ancillary byte may be harmless)


def test_a_truncated_model_payload_is_refused(photo_env, images):
    data = bbvae.compress([images["RGB"]])
    box = container.unpack(data)
    box.segments[0].payload = box.segments[0].payload[:-8]
    with pytest.raises((ContainerError, CompressionError)):
        bbvae.decompress(container.pack(box))


@pytest.mark.parametrize("shapes", [
    [(10 ** 6, 10 ** 6, 3)],                 # sides beyond MAX_SIDE
    [(60000, 60000, 4)],                     # sides allowed, samples beyond MAX_PIXELS
    [(1000, 1000, 3)] * 1000,                # one shape for many images: checked before the list is built
])
def test_a_header_claiming_huge_images_is_refused_before_allocating(photo_env, images, shapes):
    box = container.unpack(bbvae.compress([images["P"]]))
    box.shapes = shapes
    data = container.pack(box)
    tracemalloc.start()
    try:
        with pytest.raises(ContainerError, match="exceeds|more pixels"):
            container.unpack(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20
    with pytest.raises(ContainerError):
        bbvae.decompress(data)


def png_header(width: int, height: int) -> bytes:
    """A small PNG whose header claims width x height grey pixels (its data is far too short)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


def test_a_classical_record_claiming_a_huge_image_is_a_container_error(photo_env, images):
    box = container.unpack(bbvae.compress([np.zeros((4, 4), np.uint8)]))
    box.shapes = [(20000, 20000, 1)]  # within MAX_SIDE and MAX_PIXELS
    box.segments = [container.Segment(1, container.PhotoRecord("L", "png", png_header(20000, 20000)).to_bytes())]
    with pytest.raises(ContainerError):
        bbvae.decompress(container.pack(box))


def test_a_palette_image_wider_than_a_container_side_is_refused_when_compressing(photo_env):
    wide = Image.new("P", (container.MAX_SIDE + 1, 1))
    wide.putpalette([0, 0, 0, 255, 255, 255])
    with pytest.raises(CompressionError, match="outside"):
        bbvae.compress([wide])


# --- reading images ---------------------------------------------------------------------------------


def jpeg_file() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def sixteen_bit_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((np.arange(64, dtype=np.uint16) * 1000).reshape(8, 8)).save(buffer, format="PNG")
    return buffer.getvalue()


def palette_alpha_tiff() -> bytes:
    """Pillow writes mode PA only as TIFF (or IM); reading it back gives PA."""
    image = Image.new("PA", (4, 3))
    image.putpalette([0, 0, 0, 255, 0, 0])
    buffer = io.BytesIO()
    image.save(buffer, format="TIFF")
    return buffer.getvalue()


@pytest.mark.parametrize("name,make,message", [
    ("photo.jpg", jpeg_file, "JPEG is already lossy"),
    ("deep.png", sixteen_bit_png, "more than 8 bits"),
    ("pa.tif", palette_alpha_tiff, "(PA) are not supported"),
    ("junk.png", lambda: b"\x89PNG not really", "not a readable image"),
])
def test_images_that_cannot_be_coded_exactly_are_refused_with_one_line(tmp_path, name, make, message):
    path = tmp_path / name
    path.write_bytes(make())
    for source in (path, path.read_bytes()):
        with pytest.raises(ImageError) as caught:
            read_image(source, str(path))
        assert message in str(caught.value) and str(path) in str(caught.value)
        assert len(str(caught.value).splitlines()) == 1


def test_read_image_modes(tmp_path):
    rng = np.random.default_rng(0)
    for mode, shape in (("L", (5, 6)), ("LA", (5, 6, 2)), ("RGB", (5, 6, 3)), ("RGBA", (5, 6, 4))):
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        Image.fromarray(pixels, mode=mode).save(tmp_path / f"{mode}.png")
        read = read_image(tmp_path / f"{mode}.png")
        assert isinstance(read, np.ndarray) and same_image(read, pixels)
    palette_image().save(tmp_path / "p.png")
    read = read_image(tmp_path / "p.png")
    assert isinstance(read, Image.Image) and same_image(read, palette_image())


def test_an_image_file_claiming_too_many_pixels_is_an_image_error(tmp_path):
    (tmp_path / "big.png").write_bytes(png_header(20000, 20000))
    with pytest.raises(ImageError):
        read_image(tmp_path / "big.png")


# --- the command line -------------------------------------------------------------------------------


def test_cli_round_trip_rgba_and_palette_pngs(tmp_path, photo_models, images):
    env = {"BBVAE_MODELS": str(photo_models), "OMP_NUM_THREADS": "1"}
    Image.fromarray(images["RGBA"], mode="RGBA").save(tmp_path / "rgba.png")
    images["P"].save(tmp_path / "p.png")
    for name, told in (("rgba", "stored with the model (bits-back), with scale shifts per patch"), ("p", "stored with the classical fallback (PNG)")):
        source, packed, restored = tmp_path / f"{name}.png", tmp_path / f"{name}.bbv", tmp_path / f"{name}_back.png"
        made = run_cli("compress", str(source), "-o", str(packed), env=env)
        assert made.returncode == 0, made.stderr
        back = run_cli("decompress", str(packed), "-o", str(restored), env=env)
        assert back.returncode == 0, back.stderr
        original, decoded = read_image(source), read_image(restored)
        assert same_image(original, decoded)  # pixels, and for P the mode, palette and transparency
        with Image.open(restored) as image:
            assert image.mode == ("RGBA" if name == "rgba" else "P")
        shown = run_cli("info", str(packed), "--json", env=env)
        assert shown.returncode == 0, shown.stderr
        assert told in shown.stderr  # with --json, stdout holds the JSON alone
        facts = json.loads(shown.stdout.strip().splitlines()[-1])
        assert facts["paths"][0]["path"] == ("model" if name == "rgba" else "png")


def test_new_files_are_portable_with_scale_shifts_on_model_records(photo_env, images):
    data = bbvae.compress([images["RGB"], images["P"]])
    facts = api.describe_container(data)
    assert facts["format_version"] == container.PHOTO_CODING_VERSION and facts["portable"]
    assert [entry["scale_shifts"] for entry in facts["paths"]] == [True, False]
    assert same_image(bbvae.decompress(data)[0], images["RGB"])
    assert api.describe_container(bbvae.compress([images["P"]]))["format_version"] == container.PHOTO_CODING_VERSION


@pytest.mark.parametrize("scale_shifts, version", [(False, container.FIRST_VERSION),
                                                   (True, container.SCALE_SHIFTS_VERSION)])
def test_legacy_files_keep_their_format_and_decode_where_they_were_made(photo_env, images, scale_shifts, version):
    """A file as bbvae wrote it before portable coding (format 1, or 2 with scale shifts), made and decoded
    in one process, so by one arithmetic: the legacy path decodes it exactly."""
    box = container.unpack(bbvae.compress([images["RGB"]]))
    codec = codec_for(str(photo_env / PHOTO_MODEL), PHOTOS, arithmetic.LEGACY, scale_shifts=scale_shifts)
    legacy = codec.encode(images["RGB"]).to_bytes()
    box.segments[0].payload = container.PhotoRecord("RGB", "model", legacy, scale_shifts=scale_shifts).to_bytes()
    box.arithmetic, box.group_size = arithmetic.LEGACY, GROUP_SIZE  # older photo containers stored a group size
    data = container.pack(box)
    facts = api.describe_container(data)
    assert facts["format_version"] == version and not facts["portable"]
    assert same_image(bbvae.decompress(data)[0], images["RGB"])
    with pytest.raises(ValueError, match="only the model path"):
        container.PhotoRecord("RGB", "png", b"", scale_shifts=True)


def test_a_format_1_photo_file_decodes_exactly_or_says_its_arithmetic_differs():
    """Written by bbvae before scale shifts (commit 4eaae81) with the shipped `photo` model, on a machine
    whose float32 arithmetic this one may not share: it decodes exactly where that arithmetic matches,
    and elsewhere fails with the reason, never as a corrupt file."""
    data = (DATA / "coffee_50x40_format1.bbv").read_bytes()
    facts = api.describe_container(data)
    assert facts["format_version"] == 1 and facts["paths"][0] == {"mode": "RGB", "path": "model", "bytes": 2789,
                                                                   "scale_shifts": False, "bands": 1}
    try:
        decoded = bbvae.decompress(data)[0]
    except api.CompressionError as exc:
        assert str(exc) == api.LEGACY_MISMATCH
    else:
        np.testing.assert_array_equal(decoded, read_image(DATA / "coffee_50x40.png"))


def test_scale_shifts_where_they_cannot_be_are_refused(photo_env, images):
    box = container.unpack(bbvae.compress([images["RGB"], images["P"]]))
    shifted, classical = box.segments
    classical.payload = classical.payload[:1] + bytes([classical.payload[1] | container.PATH_SCALE_SHIFTS]) + classical.payload[2:]
    with pytest.raises(ContainerError, match="scale shifts on a classical path"):
        container.unpack(container.pack(box))
    box = container.unpack(bbvae.compress([images["RGB"]]))
    box.arithmetic, box.group_size = arithmetic.LEGACY, GROUP_SIZE  # as files of format 2 were written
    data = bytearray(container.pack(box))
    assert data[3] == container.SCALE_SHIFTS_VERSION
    data[3] = 1
    with pytest.raises(ContainerError, match="scale shifts in a file of format version 1"):
        container.unpack(with_fixed_crc(bytes(data)))


def test_the_checksum_covers_the_palette(photo_env, images):
    """A palette image's stored PNG with other colours, and the file's own checksum recomputed: refused, because
    the checksum of what is restored covers the palette and transparency too (format 4 on)."""
    box = container.unpack(bbvae.compress([images["P"]]))
    record = container.PhotoRecord.from_bytes(box.segments[0].payload, 1)
    recoloured = Image.open(io.BytesIO(record.body))
    recoloured.putpalette([255 - value for value in recoloured.getpalette()])
    stored = io.BytesIO()
    recoloured.save(stored, format="PNG")
    box.segments[0].payload = container.PhotoRecord("P", "png", stored.getvalue()).to_bytes()
    with pytest.raises(ContainerError, match="decoded pixels fail their checksum"):
        bbvae.decompress(container.pack(box))


def test_one_photograph_reports_progress_strip_by_strip(photo_env, images):
    """Progress counts pixel rows, so that a single large photograph shows a moving bar (issue #18)."""
    image, noise = images["RGB"], images["noise RGB"]  # 24 rows in strips of the tiny model's 8, and a classical image
    assert api.progress_total([image, noise]) == 24 + 7
    encoded, decoded = [], []
    data = api.compress([image, noise], progress=encoded.append)
    box, restored = api.decompress_container(data, progress=decoded.append)
    assert encoded == decoded == [8, 8, 8, 7]  # three strips of the model path, then the classical image at once
    assert api.container_progress_total(box) == sum(decoded) and np.array_equal(restored[0], image)


def test_every_effort_round_trips_and_only_the_search_differs(photo_env, images):
    """Effort 1 codes the model as trained (no scale shifts), 2 is the default, 3 searches WebP harder."""
    image = images["RGB"]
    coded = {effort: bbvae.compress([image], effort=effort) for effort in (1, 2, 3)}
    assert coded[2] == bbvae.compress([image])
    for effort, data in coded.items():
        assert np.array_equal(bbvae.decompress(data)[0], image), effort
    shifted = {effort: container.unpack(data).records()[0].scale_shifts for effort, data in coded.items()}
    assert shifted == {1: False, 2: True, 3: True}
    noise = images["noise RGB"]  # WebP's record: each level's own settings
    for level, effort in EFFORTS.items():
        record = container.unpack(bbvae.compress([noise], effort=level)).records()[0]
        assert record.body == min(fallback.encodings(noise, effort).values(), key=len), level
    with pytest.raises(bbvae.BbvaeError, match="effort must be one of 1, 2, 3, got 4"):
        bbvae.compress([image], effort=4)
