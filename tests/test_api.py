"""compress / decompress: exact pixels, every error case, and determinism across processes."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli, with_fixed_crc
from PIL import Image

import bbvae
from bbvae.api import CompressionError, decompress_container
from bbvae.datasets import sources as data
from bbvae.format import container
from bbvae.format.precisions import Precisions
from bbvae.models.modelfile import DEFAULT_MODEL


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return data.load("mnist", "test")[:40, 0]


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def write_pngs(folder: Path, images) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, image in enumerate(images):
        paths.append(folder / f"digit{index}.png")
        Image.fromarray(image).save(paths[-1])
    return paths


def test_library_round_trip_is_exact_and_near_the_elbo(digits):
    from bbvae.models.evaluate import evaluate
    from bbvae.models.modelfile import load_model

    encoded = bbvae.compress(digits)
    decoded = bbvae.decompress(encoded)
    assert len(decoded) == len(digits)
    for original, restored in zip(digits, decoded):
        np.testing.assert_array_equal(original, restored)
    coded_bpd = 8 * len(encoded) / digits.size
    elbo = evaluate(load_model(DEFAULT_MODEL)[0], digits[:, None], iwae_samples=1)["elbo_bpd"]
    assert abs(coded_bpd - elbo) < 0.03 * elbo  # 40 images: header and initial bits still show


def test_batch_and_single_files_decode_to_the_same_pixels_whatever_the_array_layout(digits):
    together = bbvae.decompress(bbvae.compress(digits[:6]))
    # the same pixels reach the coder with other numpy strides (x[:, None] versus a transpose)
    strided = data.load("mnist", "test")[:6]
    alone = [bbvae.decompress(bbvae.compress(strided[i:i + 1, 0]))[0] for i in range(6)]
    for a, b, original in zip(together, alone, digits):
        np.testing.assert_array_equal(a, original)
        np.testing.assert_array_equal(b, original)


def test_precisions_are_recorded_and_used(digits):
    encoded = bbvae.compress(digits[:5], precisions=Precisions(latent=8, posterior=16, pixels=16))
    assert container.unpack(encoded).precisions == Precisions(8, 16, 16)
    for a, b in zip(bbvae.decompress(encoded), digits):
        np.testing.assert_array_equal(a, b)


def test_segments_coded_in_threads_decode_with_one_job_or_two():
    many = data.load("mnist", "test")[:600, 0]
    encoded = bbvae.compress(many, jobs=2, verify=False)  # two threads encode a segment each
    assert len(container.unpack(encoded).segments) == 2
    for jobs in (1, 2):
        for a, b in zip(bbvae.decompress(encoded, jobs=jobs), many):
            np.testing.assert_array_equal(a, b)


def test_photographs_in_threads_make_the_bytes_of_one_job():
    """Each photograph is a record of its own, so coding them in threads (with the check decode's recalled
    network results shared between the threads) writes what one job writes."""
    rng = np.random.default_rng(3)
    photos = [np.clip(rng.normal(120, 30, (40, 48, 3)).cumsum(1) / 6, 0, 255).astype(np.uint8),
              rng.integers(0, 256, (36, 33), dtype=np.uint8), rng.integers(90, 140, (33, 41, 3), dtype=np.uint8)]
    one = bbvae.compress(photos, "photo", jobs=1)
    assert bbvae.compress(photos, "photo", jobs=3) == one
    for restored, photo in zip(bbvae.decompress(one, jobs=3), photos):
        np.testing.assert_array_equal(restored, photo)


def test_cli_single_file_round_trip(tmp_path, digits):
    (source,) = write_pngs(tmp_path, digits[:1])
    original = source.read_bytes()
    assert run_cli("compress", str(source), "--quiet").returncode == 0
    packed = tmp_path / "digit0.png.bbv"
    assert packed.exists() and source.read_bytes() == original
    refused = run_cli("decompress", str(packed))  # digit0.png exists
    assert refused.returncode == 1 and "exists" in refused.stderr
    assert run_cli("decompress", str(packed), "-o", str(tmp_path / "back.png")).returncode == 0
    np.testing.assert_array_equal(pixels(tmp_path / "back.png"), digits[0])
    shown = run_cli("info", str(packed), "--json")
    facts = json.loads(shown.stdout.strip().splitlines()[-1])
    assert facts["images"] == 1 and facts["model"] == DEFAULT_MODEL and facts["bytes"] == packed.stat().st_size


def test_cli_many_files_folder_and_names(tmp_path, digits):
    write_pngs(tmp_path / "in" / "sub", digits[:3])
    loose = write_pngs(tmp_path / "loose", digits[3:5])
    result = run_cli("compress", str(tmp_path / "in"), *map(str, loose), "-o", str(tmp_path / "set.bbv"), "--quiet")
    assert result.returncode == 0, result.stderr
    assert run_cli("decompress", str(tmp_path / "set.bbv"), "-o", str(tmp_path / "out")).returncode == 0
    restored = {p.relative_to(tmp_path / "out").as_posix(): pixels(p) for p in (tmp_path / "out").rglob("*.png")}
    expected = {f"sub/digit{i}.png": digits[i] for i in range(3)} | {f"digit{i}.png": digits[3 + i] for i in range(2)}
    assert restored.keys() == expected.keys()
    for name, image in expected.items():
        np.testing.assert_array_equal(restored[name], image)


def test_cli_stdin_stdout_and_arrays(tmp_path, digits):
    (source,) = write_pngs(tmp_path, digits[:1])
    packed = run_cli("compress", "-", input=source.read_bytes(), text=False)
    assert packed.returncode == 0 and packed.stdout[:3] == b"BBV"
    restored = run_cli("decompress", "-", input=packed.stdout, text=False)
    (tmp_path / "r.png").write_bytes(restored.stdout)
    np.testing.assert_array_equal(pixels(tmp_path / "r.png"), digits[0])

    np.savez(tmp_path / "set.npz", first=digits[:3], second=digits[3:7])
    assert run_cli("compress", str(tmp_path / "set.npz"), "--quiet").returncode == 0
    assert run_cli("decompress", str(tmp_path / "set.npz.bbv"), "-o", str(tmp_path / "back.npz")).returncode == 0
    back = np.load(tmp_path / "back.npz")
    np.testing.assert_array_equal(back["first"], digits[:3])
    np.testing.assert_array_equal(back["second"], digits[3:7])


def run_python(code: str, threads: int):
    import subprocess

    return subprocess.run([sys.executable, "-c", f"import torch; torch.set_num_threads({threads})\n{code}"],
                          capture_output=True, timeout=300)


def test_decoding_in_a_fresh_process_with_other_thread_counts(tmp_path, digits):
    np.save(tmp_path / "digits.npy", digits[:20])
    made = run_python(f"import bbvae, numpy as np; open({str(tmp_path / 'x.bbv')!r}, 'wb').write("
                      f"bbvae.compress(np.load({str(tmp_path / 'digits.npy')!r})))", threads=1)
    assert made.returncode == 0, made.stderr
    read = run_python(f"import bbvae, numpy as np; np.save({str(tmp_path / 'y.npy')!r}, "
                      f"np.stack(bbvae.decompress(open({str(tmp_path / 'x.bbv')!r}, 'rb').read())))", threads=2)
    assert read.returncode == 0, read.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), digits[:20])


def corrupted(data: bytes, position: int) -> bytes:
    damaged = bytearray(data)
    damaged[position] ^= 0x40
    return bytes(damaged)


@pytest.mark.parametrize("damage,message", [
    (lambda d: d[: len(d) // 2], "corrupt or truncated"),
    (lambda d: d[:-1], "corrupt or truncated"),
    (lambda d: corrupted(d, len(d) // 2), "corrupt or truncated"),
    (lambda d: b"PK\x03\x04 not ours", "not a bbvae file"),
    (lambda d: b"", "not a bbvae file"),
    (lambda d: d[:3] + bytes([9]) + d[4:], "newer than this bbvae"),
    (lambda d: with_fixed_crc(d[:6] + bytes(4) + d[10:]), "needs a model (fingerprint 00000000)"),  # the fingerprint
    (lambda d: with_fixed_crc(d[:5] + bytes([7]) + d[6:]), "unknown arithmetic 7"),
    (lambda d: d[:-4] + bytes(4), "checksum"),
    (lambda d: d[:3] + bytes([0]) + d[4:], "corrupt"),
    (lambda d: with_fixed_crc(d[:4] + bytes([d[4] | 128]) + d[5:]), "unknown flags"),
])
def test_bad_files_get_one_line_errors_and_no_output(tmp_path, digits, damage, message):
    bad = tmp_path / "bad.bbv"
    bad.write_bytes(damage(bbvae.compress(digits[:1], names=["d.png"])))
    result = run_cli("decompress", str(bad), "-o", str(tmp_path / "out.png"))
    assert result.returncode == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "out.png").exists()
    assert not list(tmp_path.glob(".*tmp"))


def test_a_payload_that_runs_past_its_start_is_refused(digits):
    from bbvae.api import decompress_container

    box = container.unpack(bbvae.compress(digits[:1]))
    box.shapes = box.shapes * 50  # the header now claims 50 images for one image's bits
    box.segments[0].count = 50
    with pytest.raises(container.ContainerError, match="corrupt"):
        decompress_container(container.pack(box))


def test_a_file_from_another_model_names_the_model_it_needs(tmp_path, digits):
    from helpers import tiny_model

    from bbvae.models.modelfile import save_model
    from bbvae.models.vae import ModelConfig

    other = tmp_path / "other"
    save_model(other / "model.safetensors", tiny_model(cfg=ModelConfig(hidden=8, blocks=1, latent=4)), {})
    encoded = bbvae.compress(digits[:2], model=other)
    with pytest.raises(CompressionError, match="made with model 'other'"):
        decompress_container(encoded, model="mnist")
    for a, b in zip(bbvae.decompress(encoded, model=other), digits):
        np.testing.assert_array_equal(a, b)


def test_a_shipped_model_is_found_by_fingerprint_and_its_name_is_not_paid_for(tmp_path, digits, monkeypatch):
    import dataclasses
    import shutil

    from bbvae.api import describe_container
    from bbvae.models.modelfile import models_dir

    data = bbvae.compress(digits[:1])
    box = container.unpack(data)
    assert box.model_name == "" and describe_container(data)["model"] == DEFAULT_MODEL
    np.testing.assert_array_equal(bbvae.decompress(data)[0], digits[0])
    # the name a file states is not trusted: a stated name finds nothing, the fingerprint finds the model
    for untrusted in (".", "..", "../models/photo", "photo"):
        misnamed = container.pack(dataclasses.replace(box, model_name=untrusted))
        assert len(misnamed) == len(data) + len(untrusted)
        np.testing.assert_array_equal(bbvae.decompress(misnamed)[0], digits[0])
    # a model installed while the process runs is found too
    shipped = models_dir() / DEFAULT_MODEL
    monkeypatch.setenv("BBVAE_MODELS", str(tmp_path))
    with pytest.raises(CompressionError, match=r"needs a model \(fingerprint [0-9a-f]{8}\), which is not installed"):
        bbvae.decompress(data)
    shutil.copytree(shipped, tmp_path / "renamed")
    np.testing.assert_array_equal(bbvae.decompress(data)[0], digits[0])
    assert describe_container(data)["model"] == "renamed"


def test_refusals_leave_no_output_and_never_touch_inputs(tmp_path):
    rgb = tmp_path / "colour.png"
    Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(rgb)
    before = rgb.read_bytes()
    result = run_cli("compress", str(rgb), "--model", "mnist")
    assert result.returncode == 1 and "codes 28x28 grey images" in result.stderr
    assert not (tmp_path / "colour.png.bbv").exists() and rgb.read_bytes() == before
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "dark.jpg")
    jpeg = run_cli("compress", str(tmp_path / "dark.jpg"))
    assert jpeg.returncode == 1 and "already lossy" in jpeg.stderr
    digit = tmp_path / "digit.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(digit)
    kept = digit.read_bytes()
    same = run_cli("compress", str(digit), "-o", str(digit), "--force")
    assert same.returncode == 1 and "refusing to overwrite an input" in same.stderr and digit.read_bytes() == kept
    inside = run_cli("compress", str(tmp_path), "-o", str(digit), "--force")
    assert inside.returncode == 1 and "refusing to overwrite an input" in inside.stderr and digit.read_bytes() == kept
    (tmp_path / "dark.jpg").unlink()
    rgb.unlink()
    other = tmp_path / "other.png"
    Image.fromarray(np.full((28, 28), 9, np.uint8)).save(other)
    many = run_cli("compress", str(digit), str(other))
    assert many.returncode == 1 and "name the output file with -o" in many.stderr


def test_each_image_comes_back_in_the_format_of_its_name(tmp_path, digits):
    folder = tmp_path / "in"
    folder.mkdir()
    for index, suffix in enumerate([".png", ".bmp", ".tif", ".pgm"]):
        Image.fromarray(digits[index]).save(folder / f"scan{suffix}")
    assert run_cli("compress", str(folder), "-o", str(tmp_path / "s.bbv"), "--quiet").returncode == 0
    assert run_cli("decompress", str(tmp_path / "s.bbv"), "-o", str(tmp_path / "out")).returncode == 0
    for index, (suffix, kind) in enumerate([(".png", "PNG"), (".bmp", "BMP"), (".tif", "TIFF"), (".pgm", "PPM")]):
        with Image.open(tmp_path / "out" / f"scan{suffix}") as image:
            assert image.format == kind and image.mode == "L"
            np.testing.assert_array_equal(np.asarray(image), digits[index])


def test_npz_with_awkward_array_names_and_an_empty_array(tmp_path, digits):
    import zipfile

    arrays = {"file": digits[:2], "allow_pickle": digits[2:3], "empty": np.zeros((0, 28, 28), np.uint8)}
    with zipfile.ZipFile(tmp_path / "odd.npz", "w") as npz:  # np.savez itself cannot take these names
        for key, array in arrays.items():
            with npz.open(f"{key}.npy", "w") as member:
                np.lib.format.write_array(member, array)
    assert run_cli("compress", str(tmp_path / "odd.npz"), "--quiet").returncode == 0
    assert run_cli("decompress", str(tmp_path / "odd.npz.bbv"), "-o", str(tmp_path / "back.npz")).returncode == 0
    back = np.load(tmp_path / "back.npz")
    assert sorted(back.files) == sorted(arrays)
    for key, array in arrays.items():
        np.testing.assert_array_equal(back[key], array)


def test_crafted_names_and_outputs_give_one_line_errors_and_no_partial_output(tmp_path, digits):
    for names in (["a.png", "a.png/b.png"], ["../escape.png", "b.png"], ["x.png", "x.png"]):
        bad = tmp_path / "names.bbv"
        bad.write_bytes(bbvae.compress(digits[:2], names=names, verify=False))
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        result = run_cli("decompress", str(bad), "-o", str(out))
        assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))
    (tmp_path / "plain.txt").write_text("x")
    onto_file = run_cli("decompress", str(tmp_path / "names.bbv"), "-o", str(tmp_path / "plain.txt"))
    assert onto_file.returncode == 1 and "not a folder" in onto_file.stderr
    nested = tmp_path / "nested.bbv"
    nested.write_bytes(bbvae.compress(digits[:2], names=["a.png", "b/c.png"], verify=False))
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "b").write_text("a file where a folder must go")
    result = run_cli("decompress", str(nested), "-o", str(blocked))
    assert result.returncode == 1 and "not a folder" in result.stderr
    assert not (blocked / "a.png").exists()


def test_outputs_in_formats_that_cannot_hold_the_pixels_are_refused_before_decoding(tmp_path, digits):
    packed = tmp_path / "one.bbv"
    packed.write_bytes(bbvae.compress(digits[:1]))
    result = run_cli("decompress", str(packed), "-o", str(tmp_path / "grey.webp"))
    assert result.returncode == 1 and "use .png" in result.stderr
    assert not (tmp_path / "grey.webp").exists()


def test_the_api_takes_what_people_pass_it(tmp_path):
    """One (H, W, 3) array is one image (not H grey ones); so are an RGB Pillow image, a path and a file
    object; decompress takes any bytes-like object and gives the stored names back."""
    rgb = np.random.default_rng(3).integers(0, 256, (10, 7, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    with open(tmp_path / "rgb.png", "rb") as file:
        inputs = [rgb, Image.fromarray(rgb), tmp_path / "rgb.png", str(tmp_path / "rgb.png"), file,
                  (tmp_path / "rgb.png").read_bytes()]
        for given in inputs:
            data = bbvae.compress(given)
            assert bbvae.describe(data)["images"] == 1
            (back,) = bbvae.decompress(memoryview(data))
            assert np.array_equal(back, rgb)
    named = bbvae.decompress(bytearray(bbvae.compress([rgb, rgb[:5]], names=["a.png", "b.png"])))
    assert named.names == ["a.png", "b.png"] and np.array_equal(named[1], rgb[:5])
    with pytest.raises(bbvae.BbvaeError, match="mode CMYK"):
        bbvae.compress(Image.fromarray(rgb).convert("CMYK"))
    with pytest.raises(bbvae.BbvaeError) as unreadable:
        bbvae.compress(io.BytesIO(b"not an image"))
    assert str(unreadable.value) == "image 0: not a readable image (cannot identify image file)"  # no object address


def test_a_pillow_image_keeps_its_metadata_unless_stripped():
    image = Image.fromarray(np.random.default_rng(4).integers(0, 256, (9, 8, 3), dtype=np.uint8))
    image.info.update(icc_profile=b"profile bytes", dpi=(96.0, 96.0))
    assert bbvae.decompress(bbvae.compress(image)).info == [{"icc_profile": b"profile bytes", "dpi": (96.0, 96.0)}]
    assert bbvae.decompress(bbvae.compress(image, strip=True)).info == [{}]
    described = bbvae.compress(np.asarray(image), info=[{"text": {"Title": "t"}}])
    assert bbvae.decompress(described).info == [{"text": {"Title": "t"}}]


def test_the_package_shows_its_api():
    names = dir(bbvae)
    assert {"compress", "decompress", "describe", "Images", "BbvaeError", "ContainerError", "ImageError"} <= set(names)
    assert "os" not in names and issubclass(bbvae.CompressionError, bbvae.BbvaeError)
    assert (Path(bbvae.__file__).parent / "py.typed").exists()
