"""`bbvae compress`, `decompress` and `info`: files in, files out, one-line errors."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import sys
from pathlib import Path, PurePosixPath

import click
import numpy as np

from bbvae.cli.errors import UserError, user_errors
from bbvae.codecs.effort import DEFAULT_EFFORT, EFFORTS
from bbvae.io.images import MAX_PIXELS
from bbvae.models.defaults import DEFAULT_MODEL, PHOTO_MODEL

SUFFIX = ".bbv"


def _say_if_compiling(quiet: bool) -> None:
    """One line before the first coding after an install, which compiles the coder's kernels in silence."""
    from bbvae.coder.kernel_cache import kernels_compiled

    if not quiet and not kernels_compiled():
        click.echo("bbvae: compiling coder kernels, once (about 15 s; later runs reuse them)", err=True)


BAR_IMAGES, BAR_SAMPLES = 64, 1 << 22  # a bar for this many images, or this many samples (one 1400x1000 RGB photo)


@contextlib.contextmanager
def _progress(total: int, label: str, quiet: bool, images: int, samples: int):
    """A progress callback taking counts up to total (None when quiet or for a few small images)."""
    if quiet or (images < BAR_IMAGES and samples < BAR_SAMPLES):
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


def _input_files(inputs: tuple[str, ...]) -> list[Path]:
    """Every file the inputs name, folders expanded: none of them may be overwritten."""
    files = []
    for item in inputs:
        path = Path(item)
        files.extend(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else files.append(path)
    return files


def _check_left_out(folder: Path, readable: list[Path], skip: bool) -> None:
    """A folder's files that are not images bbvae reads would be missing from the restored tree: say so."""
    left_out = sorted(set(p for p in folder.rglob("*") if p.is_file()) - set(readable))
    if left_out and not skip:
        shown = ", ".join(p.relative_to(folder).as_posix() for p in left_out[:5]) + (", ..." if len(left_out) > 5 else "")
        raise UserError(f"{folder}: {len(left_out)} file(s) are not images bbvae reads and would be left out ({shown}); "
                        "pass --skip-unsupported to leave them out")
    if left_out:
        click.echo(f"{folder}: left out {len(left_out)} file(s) that are not images bbvae reads", err=True)


def _read_inputs(inputs: tuple[str, ...], skip_unsupported: bool = False, max_pixels: int = MAX_PIXELS):
    """(images, names, metadata, default output, each image's own metadata) from image files, folders,
    .npy/.npz or '-'."""
    from bbvae.datasets.sources import folder_files
    from bbvae.io.images import read_image_and_metadata

    infos = []

    def read(source, label=None):
        image, info = read_image_and_metadata(source, label, max_pixels=max_pixels)
        infos.append(info)
        return image

    if any(Path(i).suffix in (".npy", ".npz") for i in inputs):
        if len(inputs) != 1:
            raise UserError("an .npy/.npz input must be the only input")
        return (*_read_array_file(Path(inputs[0])), None)
    images, names = [], []
    for item in inputs:
        if item == "-":
            if len(inputs) != 1:
                raise UserError("'-' (stdin) must be the only input")
            return [read(sys.stdin.buffer.read(), "stdin")], None, {}, "-", infos
        path = Path(item)
        if path.is_dir():
            _check_left_out(path, folder_files(str(path)), skip_unsupported)
            for file in folder_files(str(path)):
                images.append(read(file))
                names.append(file.relative_to(path).as_posix())
        else:
            images.append(read(path))
            names.append(path.name)
    if len(set(names)) != len(names):
        raise UserError("two inputs have the same name; they would overwrite each other on decompression")
    if len(inputs) == 1 and not Path(inputs[0]).is_dir():
        return images, None, {}, inputs[0] + SUFFIX, infos  # one image: decompression names it after the .bbv file
    if len(inputs) == 1:  # a folder: the archive is named after it, as tar and zip users expect
        return images, names, {}, str(Path(inputs[0])) + SUFFIX, infos
    return images, names, {}, None, infos


def _read_array_file(path: Path):
    import zipfile

    try:
        loaded = np.load(path, allow_pickle=False)
        arrays = dict(loaded) if path.suffix == ".npz" else {"": loaded}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise UserError(f"{path}: not a readable numpy file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    images, layout = [], []
    for key, array in arrays.items():
        if array.dtype != np.uint8 or array.ndim not in (3, 4):
            raise UserError(f"{path}: array {key or '(main)'} must be uint8 images shaped (N, H, W) or (N, H, W, C)")
        images.extend(array)
        layout.append([key, list(array.shape)])
    return images, None, {"archive": {"kind": path.suffix[1:], "name": path.name, "arrays": layout}}, str(path) + SUFFIX


def _check_output(name: str, force: bool, inputs: tuple[str, ...] = ()):
    """UserError unless `name` is a new file (or, with force, a regular one) in an existing folder, and no input."""
    path = Path(name)
    if any(path.resolve() == p.resolve() for p in _input_files(tuple(i for i in inputs if i != "-"))):
        raise UserError(f"{path}: refusing to overwrite an input")
    if name.endswith(("/", os.sep)) or path.is_dir():
        raise UserError(f"{path} is a folder; name the output file")
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise UserError(f"{path} is not a regular file (a link, device or pipe): bbvae never replaces one")
    if not path.parent.is_dir():
        raise UserError(f"{path}: the folder {path.parent} does not exist")
    if path.exists() and not force:
        raise UserError(f"{path} exists (use --force to overwrite)")


def _check_stdout(what: str):
    """Binary data is not for a terminal (as gzip, xz and zstd refuse)."""
    if sys.stdout.isatty():
        raise UserError(f"refusing to write {what} to a terminal: redirect it, or name a file with -o")


def _write(path: str, data: bytes, force: bool):
    """Standard output, or the file atomically; without force, never over a file that appeared meanwhile."""
    from bbvae.io.atomic import write_bytes_atomic

    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_bytes_atomic(path, data, replace=force)


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", type=click.Path(), help="output file ('-' for stdout); default INPUT.bbv (FOLDER.bbv)")
@click.option("-c", "--stdout", "to_stdout", is_flag=True, help="write to standard output (as -o -)")
@click.option("--model", default=None,
              help=f"shipped model name or path (default: '{DEFAULT_MODEL}' for 28x28 grey digits, '{PHOTO_MODEL}' for anything else)")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1),
              help="threads for many images; a lone photograph is coded in that many bands side by side")
@click.option("-f", "--force", is_flag=True, help="overwrite an existing output")
@click.option("-k", "--keep", is_flag=True, help="keep the inputs (accepted for gzip's habit: bbvae never removes them)")
@click.option("--no-verify", is_flag=True, help="skip decoding the result again before writing it")
@click.option("--particles", default=1, show_default=True, type=click.IntRange(1, 64),
              help="importance samples per image: K > 1 codes near the IWAE bound instead of the ELBO, K times slower")
@click.option("--skip-unsupported", is_flag=True, help="leave out the files of input folders that are not images bbvae reads")
@click.option("--max-pixels", default=MAX_PIXELS, show_default=True, type=click.IntRange(1),
              help="refuse an input image of more pixels, from its header (a small file can claim a huge image)")
@click.option("-e", "--effort", default=DEFAULT_EFFORT, show_default=True, type=click.IntRange(1, max(EFFORTS)),
              help="encoder effort, as cjxl's -e: 1 faster (no per-patch scale search, a quicker WebP), 2 smaller, "
                   "3 a slower WebP search; decoding is the same")
@click.option("--strip", is_flag=True, help="leave out the images' metadata (ICC profile, EXIF, DPI, PNG text)")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar, no summary")
@click.option("-v", "--verbose", is_flag=True, help="also say how each image is stored")
@user_errors
def compress(inputs, output, to_stdout, model, jobs, force, keep, no_verify, particles, skip_unsupported, max_pixels, effort,
             strip, quiet, verbose):
    """Compress images (files, folders, .npy/.npz, or - for stdin) into one .bbv file."""
    from bbvae import api
    from bbvae.codecs.photos import shape_of

    output = "-" if to_stdout else output
    if output == "-":
        _check_stdout("compressed data")
    if output not in (None, "-"):  # before reading, which can take a while and refuse for other reasons
        _check_output(output, force, inputs)
    images, names, metadata, default_output, infos = _read_inputs(inputs, skip_unsupported, max_pixels)
    if output is None and default_output is None:
        raise UserError("several inputs: name the output file with -o")
    if output is None and default_output != "-":
        _check_output(default_output, force, inputs)
    output = output or default_output
    samples = sum(int(np.prod(shape_of(image))) for image in images)
    _say_if_compiling(quiet)
    with _progress(api.progress_total(images, model), "compressing", quiet, len(images), samples) as update:
        data = api.compress(images, model, names=names, metadata=metadata, info=infos, strip=strip, particles=particles,
                            effort=effort, jobs=jobs, verify=not no_verify, progress=update)
    _write(output, data, force)
    if not quiet and output != "-":
        click.echo(f"{len(images)} image(s) -> {output}: {len(data)} bytes, {8 * len(data) / samples:.4f} bits/dim", err=True)
    if verbose:
        for number, stored in enumerate(api.describe_container(data)["paths"] or []):
            click.echo(f"image {number}: {stored['mode']}, {stored['path']}, {stored['bytes']} bytes", err=True)


def _safe_name(name: str) -> PurePosixPath:
    parts = PurePosixPath(name)
    if parts.is_absolute() or ".." in parts.parts or not parts.parts or "\\" in name:
        raise UserError(f"refusing unsafe image name in the file: {name!r}")
    return parts


def _array_file(images, archive) -> bytes:
    """The .npy or .npz the images came from: arrays in order, each with its recorded shape."""
    import zipfile

    arrays, start = [], 0
    for key, shape in archive["arrays"]:
        count = shape[0]
        stacked = np.stack(images[start:start + count]) if count else np.empty(shape, dtype=np.uint8)
        arrays.append((key, stacked.reshape(shape)))
        start += count
    buffer = io.BytesIO()
    if archive["kind"] == "npy":
        np.save(buffer, arrays[0][1])
        return buffer.getvalue()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive_file:
        for key, array in arrays:  # written member by member: any array name works
            with archive_file.open(f"{key}.npy", "w") as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
    return buffer.getvalue()


def _folder_outputs(folder: Path, names: list[str], force: bool) -> list[PurePosixPath]:
    """The stored names as paths under `folder`, checked before anything is decoded or written."""
    relative = [_safe_name(name) for name in names]
    if len(set(relative)) != len(relative):
        raise UserError("the file holds two images with the same name")
    parents = {parent for path in relative for parent in path.parents if parent != PurePosixPath(".")}
    if any(path in parents for path in relative):
        raise UserError("an image name in the file is also used as a folder name")
    for parent in parents:
        if (folder / parent).exists() and not (folder / parent).is_dir():
            raise UserError(f"{folder / parent} exists and is not a folder")
    for path in relative:
        if (folder / path).exists() and not force:
            raise UserError(f"{folder / path} exists (use --force to overwrite)")
        if (folder / path).is_dir():
            raise UserError(f"{folder / path} is a folder")
    return relative


def _write_folder(folder: Path, relative: list[PurePosixPath], images, infos: list[dict]):
    """Every image under its stored name, written to a staging folder first: all or nothing."""
    import shutil
    import tempfile

    from bbvae.io.images import encode_image

    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".bbvae-", dir=folder))
    try:
        for path, image, info in zip(relative, images, infos):
            (staging / path).parent.mkdir(parents=True, exist_ok=True)
            (staging / path).write_bytes(encode_image(image, path.name, info))
        for path in relative:
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / path, folder / path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@click.command()
@click.argument("source", type=click.Path())
@click.option("-o", "--output", type=click.Path(), help="output file or folder ('-' for stdout); default SOURCE without .bbv")
@click.option("-c", "--stdout", "to_stdout", is_flag=True, help="write to standard output (as -o -)")
@click.option("--model", default=None, help="model path, when the file's model is not a shipped one")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1),
              help="threads for many images or a lone photograph's bands")
@click.option("-f", "--force", is_flag=True, help="overwrite existing outputs")
@click.option("-k", "--keep", is_flag=True, help="keep the .bbv file (accepted for gzip's habit: bbvae never removes it)")
@click.option("-q", "--quiet", is_flag=True)
@user_errors
def decompress(source, output, to_stdout, model, jobs, force, keep, quiet):
    """Restore the exact images of a .bbv file (SOURCE, or - for stdin)."""
    from bbvae import api
    from bbvae.format import container
    from bbvae.io.images import check_exact, encode_image, metadata_left_out

    data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    header = container.unpack(data)
    default = source[: -len(SUFFIX)] if source.endswith(SUFFIX) else source + ".png"
    target = "-" if to_stdout else output or ("-" if source == "-" else default)
    archive = header.metadata.get("archive")
    single = archive is not None or (len(header.shapes) == 1 and not header.names)  # a named image came from a folder
    if single and target == "-":
        _check_stdout("image data")
    if single and target != "-":  # checked before decoding, which can take minutes
        _check_output(target, force, (source,))
    names = header.names or [f"image_{i:06d}.png" for i in range(len(header.shapes))]
    if archive is None:  # refuse formats that cannot hold the pixels before decoding anything
        outputs = [target] if len(names) == 1 else names
        kinds = [record.mode if record.mode in ("P", "1") else channels
                 for record, (_, _, channels) in zip(header.records(), header.shapes)] if header.photos else \
            [channels for _, _, channels in header.shapes]
        for name, kind in zip(outputs, kinds):
            if name != "-":
                check_exact(name, kind)
        for name, info in zip(outputs, header.image_info or []):
            left_out = metadata_left_out(name, info)
            if left_out and not quiet:
                click.echo(f"bbvae: warning: {name} cannot hold its {', '.join(left_out)}: name it .png to keep them", err=True)
    if not single:
        if target == "-":
            raise UserError(f"the file holds {len(header.shapes)} images: name an output folder with -o")
        if Path(target).exists() and not Path(target).is_dir():
            raise UserError(f"{target} exists and is not a folder")
        relative = _folder_outputs(Path(target), names, force)
    _say_if_compiling(quiet)
    with _progress(api.container_progress_total(header), "decompressing", quiet, len(header.shapes), header.samples) as update:
        box, images = api.decompress_container(data, model, jobs=jobs, progress=update)
    infos = box.image_info or [{} for _ in images]
    if single:
        _write(target, _array_file(images, archive) if archive else encode_image(images[0], target, infos[0]), force)
    else:
        _write_folder(Path(target), relative, images, infos)
    if not quiet and target != "-":
        click.echo(f"{len(images)} image(s) restored to {target}", err=True)


@click.command("test")
@click.argument("sources", nargs=-1, required=True, type=click.Path())
@click.option("--model", help="the model file, when it is not a shipped one")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1))
@user_errors
def test_files(sources, model, jobs):
    """Decode each .bbv file and check it (as gzip -t): exit status 0 if every one is whole, 1 if not."""
    from bbvae import api
    from bbvae.format import container

    failed = 0
    for source in sources:
        try:
            data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
            _, images = api.decompress_container(data, model, jobs=jobs)
        except (api.CompressionError, container.ContainerError, OSError) as exc:
            failed += 1
            reason = exc.strerror.lower() if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
            click.echo(f"{source}: FAILED: {reason}", err=True)
        else:
            click.echo(f"{source}: OK ({len(images)} image(s), every checksum matches)")
    if failed:
        raise UserError(f"{failed} of {len(sources)} file(s) failed")


@click.command()
@click.argument("source", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="print only one JSON object on stdout (the text goes to stderr)")
@user_errors
def info(source, as_json):
    """Show what a .bbv file holds: model, images, geometry, size and bits/dim."""
    from bbvae.api import describe_container

    facts = describe_container(sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes())
    geometry = ", ".join(f"{g['width']}x{g['height']}x{g['channels']}" for g in facts["geometry"])
    say = functools.partial(click.echo, err=as_json)  # with --json, stdout holds the JSON alone
    say(f"{source}: {facts['images']} image(s) of {geometry}, model '{facts['model']}' ({facts['fingerprint']})")
    say(f"{facts['bytes']} bytes ({facts['payload_bytes']} payload), {facts['bits_per_dim']:.4f} bits/dim, "
        f"precisions {facts['precisions']}, {facts['segments']} segment(s)")
    say(f"format version {facts['format_version']}, arithmetic: {facts['arithmetic']}; "
        + ("portable: decodes on any machine" if facts["portable"] else
           "not portable: decodes only where its arithmetic matches the encoder's"))
    for number, stored in enumerate(facts["paths"] or []):
        shifts = ", with scale shifts per patch" if stored["scale_shifts"] else ""
        banded = f", in {stored['bands']} bands" if stored["bands"] > 1 else ""
        how = (f"the model (bits-back){shifts}{banded}" if stored["path"] == "model"
               else f"the classical fallback ({stored['path'].upper()})")
        say(f"image {number}: {stored['mode']}, stored with {how}, {stored['bytes']} bytes")
    if as_json:
        click.echo(json.dumps(facts))
