"""`bbvae photoset` (bbvae/datasets/photoset.py) without the network: conversion, duplicates, the split rule,
the manifest, and a fake extracted Debian package."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from helpers import run_cli
from PIL import Image

from bbvae.datasets import photoset as ps
from bbvae.datasets.downscale import block_mean
from bbvae.datasets.sources import DataError, load_photos

COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: fake

Files: *
Copyright: 2020, Somebody
License: GPL-2+

Files: photos/b.jpg
 photos/c.jpg
Copyright: 2021, A Photographer
License: CC0-1.0
 A long licence text
 .
 in several lines.

Files: debian/*
Copyright: 2022, A Packager
License: Expat
"""


def smooth(seed: int, height: int = 96, width: int = 128, grey: bool = False) -> np.ndarray:
    """A photograph-like smooth picture: random coarse colours, bilinearly enlarged."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (6, 8) if grey else (6, 8, 3), dtype=np.uint8))
    return np.asarray(coarse.resize((width, height), Image.Resampling.BILINEAR))


def photo(pixels: np.ndarray, path: str, package: str = "fake", forced_test: bool = False) -> ps.Photo:
    return ps.Photo(package, "1.0-1", path, hashlib.sha256(path.encode()).hexdigest(), "CC0-1.0", pixels, 1, forced_test)


def test_jpeg_sources_are_block_averaged_by_4_at_least_and_large_ones_down_to_about_1024(tmp_path):
    assert ps.block_factor("JPEG", 600, 800) == 4 and ps.block_factor("JPEG", 3000, 6028) == 6
    assert ps.block_factor("PNG", 512, 512) == 1 and ps.block_factor("PNG", 1200, 2100) == 3
    colour = smooth(0, 40, 24)
    Image.fromarray(colour).save(tmp_path / "a.jpg", quality=90)
    with Image.open(tmp_path / "a.jpg") as decoded:
        expected = block_mean(np.asarray(decoded), 4)
    pixels, factor = ps.convert(tmp_path / "a.jpg")
    assert factor == 4 and pixels.shape == (10, 6, 3)
    np.testing.assert_array_equal(pixels, expected)
    Image.fromarray(colour[:, :, 0]).save(tmp_path / "grey.png")
    grey, factor = ps.convert(tmp_path / "grey.png")
    assert factor == 1 and grey.ndim == 2
    np.testing.assert_array_equal(grey, colour[:, :, 0])  # a small lossless source stays as it is
    Image.fromarray(np.dstack([colour, np.full(colour.shape[:2], 7, np.uint8)])).save(tmp_path / "rgba.png")
    np.testing.assert_array_equal(ps.convert(tmp_path / "rgba.png")[0], colour)


def test_near_duplicates_are_the_same_picture_at_another_resolution_or_centred_crop():
    picture = smooth(1, 192, 256)
    photos = [photo(picture, "big"), photo(block_mean(picture, 2), "half"), photo(picture[:, 32:224], "crop"),
              photo(picture.copy(), "copy"), photo(smooth(2, 192, 256), "other"), photo(smooth(1, 192, 256, grey=True), "grey")]
    apart = ps.distances(photos)
    assert apart[0, 1] < 1 and apart[0, 2] < 1 and apart[0, 3] == 0
    assert apart[0, 4] > 3 * ps.NEAR_TOLERANCE and apart[4, 5] > ps.NEAR_TOLERANCE
    assert ps.duplicate_groups(photos, apart) == [[0, 1, 2, 3], [4], [5]]


def test_the_split_is_read_off_the_pixel_hash_and_forced_photographs_go_to_test():
    photos = [photo(smooth(seed, 8, 8), f"p{seed}") for seed in range(80)]
    splits = [ps.split_of(p) for p in photos]
    for p, split in zip(photos, splits):
        digit = int(hashlib.sha256(repr(p.pixels.shape).encode() + p.pixels.tobytes()).hexdigest(), 16) % 10
        assert split == ("train" if digit < 8 else "validation" if digit == 8 else "test")
    assert {s: splits.count(s) for s in ps.SPLITS} == {"train": 61, "validation": 7, "test": 12}
    assert {ps.split_of(photo(p.pixels, p.path, forced_test=True)) for p in photos} == {"test"}
    assert ps.TEST_PHOTOS == ("astronaut.png", "coffee.png", "camera.png")


def test_the_licence_of_a_file_is_the_last_debian_copyright_paragraph_that_covers_it():
    paragraphs = ps.copyright_paragraphs(COPYRIGHT)
    assert paragraphs == [(("*",), "GPL-2+"), (("photos/b.jpg", "photos/c.jpg"), "CC0-1.0"), (("debian/*",), "Expat")]
    assert ps.licence_of("usr/share/backgrounds/fake/photos/b.jpg", paragraphs) == "CC0-1.0"
    assert ps.licence_of("usr/share/backgrounds/c.jpg", paragraphs) == "CC0-1.0"  # installed from another folder
    assert ps.licence_of("usr/share/backgrounds/fake/photos/a.jpg", paragraphs) == "GPL-2+"
    assert ps.licence_of("usr/share/x.jpg", paragraphs[1:]) is None


def fake_package(root):
    """An extracted package: two photographs, a render the rule excludes, a link, a preview and the copyright."""
    photos = root / "usr/share/backgrounds/fake/photos"
    photos.mkdir(parents=True)
    for name, seed in (("a.jpg", 3), ("b.jpg", 4), ("render.jpg", 5)):
        Image.fromarray(smooth(seed, 64, 96)).save(photos / name, quality=92)
    (photos / "link.jpg").symlink_to("a.jpg")
    Image.fromarray(smooth(6, 16, 16)).save(photos / "preview.png")
    (root / "usr/share/doc/fake").mkdir(parents=True)
    (root / "usr/share/doc/fake/copyright").write_text(COPYRIGHT)
    return fake_rule(("usr/share/backgrounds/fake/photos/*.jpg",), excluded=("usr/share/backgrounds/fake/photos/render.jpg",))


def fake_rule(photographs, **fields) -> ps.PackageRule:
    return ps.PackageRule("1.0-1", photographs, "pool/main/f/fake/fake_1.0-1_all.deb", "0" * 64, **fields)


def test_a_rule_takes_the_photographs_it_names_with_their_licences(tmp_path):
    rule = fake_package(tmp_path)
    found = ps.package_photos("fake", rule, tmp_path)
    assert [(p.path, p.licence, p.factor, p.pixels.shape) for p in found] == [
        ("usr/share/backgrounds/fake/photos/a.jpg", "GPL-2+", 4, (16, 24, 3)),
        ("usr/share/backgrounds/fake/photos/b.jpg", "CC0-1.0", 4, (16, 24, 3))]
    source = (tmp_path / "usr/share/backgrounds/fake/photos/a.jpg").read_bytes()
    assert found[0].source_sha256 == hashlib.sha256(source).hexdigest()
    with pytest.raises(DataError, match="no file matches"):
        ps.package_photos("fake", fake_rule(("usr/share/none/*.jpg",)), tmp_path)


def test_a_rule_may_name_its_debian_package_and_the_licence_of_a_copyright_file_that_is_not_machine_readable(tmp_path):
    fake_package(tmp_path)
    (tmp_path / "usr/share/doc/fake").rename(tmp_path / "usr/share/doc/fake-old")
    (tmp_path / "usr/share/doc/fake-old/copyright").write_text("This package is free software (GPL-2+).\n")
    rule = fake_rule(("usr/share/backgrounds/fake/photos/a.jpg",), package="fake-old", licence="GPL-2+ (the package)")
    (found,) = ps.package_photos("fake-1", rule, tmp_path)
    assert (found.package, found.licence) == ("fake-1", "GPL-2+ (the package)")
    with pytest.raises(DataError, match="gives no licence"):
        ps.package_photos("fake-1", fake_rule(("usr/share/backgrounds/fake/photos/a.jpg",), package="fake-old"), tmp_path)


def test_a_cached_deb_is_used_only_when_its_sha256_is_the_pinned_one(tmp_path):
    content = b"a .deb file"
    rule = ps.PackageRule("1.0-1", ("*",), "pool/main/f/fake/fake_1.0-1_all.deb", hashlib.sha256(content).hexdigest())
    (tmp_path / "fake_1.0-1_all.deb").write_bytes(content)
    assert ps.fetch(rule, tmp_path, say=pytest.fail) == tmp_path / "fake_1.0-1_all.deb"  # no download
    (tmp_path / "fake_1.0-1_all.deb").write_bytes(b"another file")
    with pytest.raises(DataError, match="not the pinned file"):
        ps.fetch(rule, tmp_path, say=pytest.fail)


def test_every_reviewed_package_pins_a_deb_of_its_version_in_the_archive_pool():
    for name, rule in ps.PACKAGES.items():
        debian_name = rule.package or name
        upstream = rule.version.split(":")[-1]  # the pool's file names leave the epoch out
        assert rule.deb == f"pool/main/{rule.deb.split('/')[2]}/{rule.deb.split('/')[3]}/{debian_name}_{upstream}_all.deb", name
        assert len(rule.sha256) == 64 and int(rule.sha256, 16) >= 0, name


def set_of_photos() -> list[ps.Photo]:
    """Twelve different pictures, a forced test one with a smaller near duplicate, and a pair of copies."""
    photos = [photo(smooth(seed), f"usr/share/backgrounds/p{seed}.jpg") for seed in range(10, 22)]
    benchmark = smooth(30, 128, 128)
    photos += [photo(benchmark, "skimage/data/astronaut.png", "scikit-image", forced_test=True),
               photo(block_mean(benchmark, 2), "usr/share/backgrounds/astronaut_small.jpg"),
               photo(smooth(31), "usr/share/backgrounds/copy1.jpg"), photo(smooth(31), "usr/share/backgrounds/copy2.jpg")]
    return photos


def test_the_set_is_written_with_its_manifest_and_rewritten_byte_for_byte(tmp_path):
    out = tmp_path / "set"
    photos = set_of_photos()
    manifest = ps.write_photoset(out, photos, {"fake": {"version": "1.0-1", "licence": "CC0-1.0"}})
    records = manifest["photographs"]
    assert len(records) == 14 and {r["split"] for r in records} <= set(ps.SPLITS)
    first = next(r for r in records if r["path"] == "usr/share/backgrounds/p10.jpg")
    data = (out / first["file"]).read_bytes()
    assert first["png_sha256"] == hashlib.sha256(data).hexdigest() and first["block_factor"] == 1
    assert first["source_sha256"] == photos[0].source_sha256 and first["licence"] == "CC0-1.0" and first["version"] == "1.0-1"
    assert first["file"] == f"{ps.split_of(photos[0])}/fake_backgrounds-p10.png"
    # the near duplicate goes with the benchmark photograph it copies: one file, in test
    kept = next(r for r in records if r["path"] == "skimage/data/astronaut.png")
    assert kept["split"] == "test" and kept["file"] == "test/scikit-image_skimage-data-astronaut.png"
    assert manifest["duplicates"] == [
        {"package": "fake", "path": "usr/share/backgrounds/astronaut_small.jpg", "source_sha256": photos[13].source_sha256,
         "duplicate_of": kept["file"], "kind": "near duplicate"},
        {"package": "fake", "path": "usr/share/backgrounds/copy2.jpg", "source_sha256": photos[15].source_sha256,
         "duplicate_of": next(r["file"] for r in records if r["path"].endswith("copy1.jpg")), "kind": "same pixels"}]
    assert json.loads((out / "manifest.json").read_text()) == manifest
    assert manifest["packages"]["fake"]["licence"] == "CC0-1.0" and manifest["closest_kept"]["grey_levels"] > ps.NEAR_TOLERANCE
    for split in ps.SPLITS:
        expected = sorted(r["file"] for r in records if r["split"] == split)
        assert sorted(f"{split}/{p.name}" for p in (out / split).iterdir()) == expected
        assert len(load_photos(str(out), split)) == len(expected)
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    again = ps.write_photoset(out, photos[::-1], {"fake": {"version": "1.0-1", "licence": "CC0-1.0"}})
    assert again == manifest and {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before
    assert any(line.startswith("dropped fake usr/share/backgrounds/copy2.jpg: same pixels") for line in ps.summary(manifest))


def test_a_rerun_removes_what_it_wrote_before_and_refuses_files_it_did_not_write(tmp_path):
    out = tmp_path / "set"
    photos = set_of_photos()
    first = ps.write_photoset(out, photos, {})
    ps.write_photoset(out, photos[:12], {})
    assert len(list(out.rglob("*.png"))) == 12 and (out / first["photographs"][0]["file"]).exists() != (
        first["photographs"][0]["path"] not in {p.path for p in photos[:12]})
    (out / "train" / "mine.png").write_bytes(b"x")
    with pytest.raises(DataError, match="mine.png was not written by bbvae photoset"):
        ps.write_photoset(out, photos, {})


def test_the_validation_split_needs_split_folders(tmp_path):
    for index in range(30):
        Image.fromarray(smooth(index, 8, 8)).save(tmp_path / f"{index}.png")
    assert len(load_photos(str(tmp_path), "train")) + len(load_photos(str(tmp_path), "test")) == 30  # split by name
    for name in (str(tmp_path), "photos"):
        with pytest.raises(DataError, match="no validation split"):
            load_photos(name, "validation")


def test_rejected_and_unknown_packages_are_refused_in_one_line_before_any_download(tmp_path):
    with pytest.raises(DataError, match="reviewed and holds no photograph"):
        ps.rule_of("gnome-backgrounds")
    done = run_cli("photoset", str(tmp_path / "set"), "--packages", "mate-backgrounds,no-such-package")
    assert done.returncode == 1 and "unknown package 'no-such-package'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "set").exists()
