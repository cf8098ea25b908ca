"""`bbvae photoset`: train, validation and test splits of whole photographs from the registries we can reach.

An honest protocol needs held-out photographs fixed before anybody looks at results on them, and more
training photographs than scikit-image ships. Debian's wallpaper packages hold real photographs among
their renders; the rules below name, per package version, which files are photographs (checked by eye,
reasons beside them). The build is a function of its inputs only: pinned package versions, block-mean
conversion, duplicates found from the pixels, and a split read off each photograph's pixel hash, so a
rerun writes the same files byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tempfile
import urllib.request
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

import numpy as np

from bbvae.datasets.downscale import block_mean
from bbvae.datasets.photos import TEST_PHOTOS, TRAIN_PHOTOS
from bbvae.datasets.sources import DataError
from bbvae.io.images import LOSSY_FORMATS, grey_or_rgb

SPLITS = ("train", "validation", "test")
JPEG_FACTOR = 4      # a 4x4 block mean spans half a JPEG block (downscale.py says why)
MAX_SIDE = 1024      # larger photographs are block-averaged down to about this longer side
THUMBNAIL = 16       # near duplicates: the grey central square at THUMBNAIL x THUMBNAIL ...
NEAR_TOLERANCE = 3   # ... differs by at most this many grey levels on average
# a stereo pair: the thumbnails of two viewpoints differ, but no split may hold a scene that another one holds
SAME_SCENE = (("skimage/data/motorcycle_left.png", "skimage/data/motorcycle_right.png"),)
SCENES = {frozenset(pair) for pair in SAME_SCENE}
SHIPPED = "scikit-image"
SPLIT_RULE = ("astronaut, coffee and camera (scikit-image) go to test; any other photograph by int(pixels_sha256, 16) % 10: "
              "0-7 train, 8 validation, 9 test; a group of duplicates goes where the photograph it keeps goes")
SHIPPED_LICENCE = "per photograph in the Notes of its skimage.data function (CC0 or public domain where stated)"


DEBIAN_ARCHIVE = "http://deb.debian.org/debian/"  # the .deb files are read from its pool, checked by SHA-256


@dataclass(frozen=True)
class PackageRule:
    """Which files of one version of a Debian package are photographs (patterns on paths inside it).

    deb and sha256: the .deb file's path in the Debian archive (its pool) and its hash, from the suite's Packages
    index; suite: the Debian release it was taken from. package: the Debian package's name where the rule's own
    name differs (two versions of one package). licence: for a debian/copyright that is not machine-readable,
    the licence it states for these files."""

    version: str
    photographs: tuple[str, ...]
    deb: str
    sha256: str
    suite: str = "bookworm"
    excluded: tuple[str, ...] = ()
    why: str = ""
    package: str = ""
    licence: str = ""


PLASMA_PHOTOGRAPHS = ("BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey",
                      "Kite", "OneStandsOut", "Path", "summer_1am")
BUDGIE_NOT_PHOTOGRAPHS = ("ocean-waves", "valley-midnight", "waves-midnight")
GNOME_338_PHOTOGRAPHS = ("ColdWarm", "Dark_Ivy", "Icetwigs", "LightWaves", "Road", "SeaSunset")
PACKAGES = {
    "mate-backgrounds": PackageRule(
        "1.26.0-1", ("usr/share/backgrounds/mate/nature/*.jpg",),
        "pool/main/m/mate-backgrounds/mate-backgrounds_1.26.0-1_all.deb",
        "7bf4c2209f34b4f61ba6d24c8b58c28b361e82e4b943aae6d42c030169af9e04",
        why="abstract/ (Elephants is a painting) and desktop/ hold renders, gradients and logos"),
    "lomiri-wallpapers-16.04": PackageRule(
        "20.04.0-2", ("usr/share/backgrounds/*.jpg",),
        "pool/main/l/lomiri-wallpapers/lomiri-wallpapers-16.04_20.04.0-2_all.deb",
        "a99ff6a3bfe451e4cc0682ecb3cc82e71740626d59e4845ae34a0a0e45421eab",
        excluded=("usr/share/backgrounds/analogpattern_by_Peter_Nerlich.jpg", "usr/share/backgrounds/umang_by_Abhishek_Mudgal.jpg"),
        why="analogpattern is a texture pattern, umang a render"),
    "lomiri-wallpapers-20.04": PackageRule(
        "20.04.0-2", ("usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",),
        "pool/main/l/lomiri-wallpapers/lomiri-wallpapers-20.04_20.04.0-2_all.deb",
        "d44e89b8473aafe64a5b678f014862dc31335aaaf18665c544d985d854f1a709",
        why="Fossa, Infinite-Sea and Painting-Colors are renders"),
    "plasma-workspace-wallpapers": PackageRule(
        "4:5.27.5-2", tuple(f"usr/share/wallpapers/{name}/contents/images/*.jpg" for name in PLASMA_PHOTOGRAPHS),
        "pool/main/p/plasma-workspace-wallpapers/plasma-workspace-wallpapers_5.27.5-2_all.deb",
        "32cd18b71c8c938a18b3b351f217c02ac590e323caa3cf322fbb875ce8892f8b",
        why="the other 19 wallpapers are renders or illustrations; screenshot files are previews; links are other names of one file"),
    "budgie-backgrounds": PackageRule(
        "3.0-1", ("usr/share/backgrounds/budgie/*.jpg",),
        "pool/main/b/budgie-backgrounds/budgie-backgrounds_3.0-1_all.deb",
        "b91c2d5209558bc11d8d3a161f22a608857e3f8c735980cfab0d6650b03014ca", suite="trixie",
        excluded=tuple(f"usr/share/backgrounds/budgie/{name}.jpg" for name in BUDGIE_NOT_PHOTOGRAPHS),
        why="ocean-waves is a woodcut-style picture, valley-midnight and waves-midnight are vector renders"),
    "gnome-backgrounds-3.38": PackageRule(
        "3.38.0-1", tuple(f"usr/share/backgrounds/gnome/{name}.jpg" for name in GNOME_338_PHOTOGRAPHS),
        "pool/main/g/gnome-backgrounds/gnome-backgrounds_3.38.0-1_all.deb",
        "76d8a4c52e5f346d9cb08bc8a1f58ad443d2bae211721af8a7248457c7a520e8", suite="bullseye",
        package="gnome-backgrounds",
        licence="GPL-2+ (the package; its debian/copyright names CC-BY-SA-3.0 for Dark_Ivy and Road)",
        why="Acrylic is a painting; adwaita-*, Endless-shapes, Stripes, Symbolics-* and Wood are renders or textures"),
    "libjs-jquery-backstretch": PackageRule(
        "2.1.17-4", tuple(f"usr/share/doc/libjs-jquery-backstretch/examples/{name}.jpg"
                          for name in ("coffee", "dome", "pot-holder", "sample1_1920", "sample2_1920")),
        "pool/main/libj/libjs-jquery-backstretch/libjs-jquery-backstretch_2.1.17-4_all.deb",
        "c9c7f74fddbfde20db58a241df9b0a609991532e289f4b187847124ee26cb60a", suite="trixie",
        why="the example photographs; sample1_* and sample2_* below 1920 are the same pictures, smaller"),
}
REJECTED = {  # looked at, no photograph in them (Debian bookworm versions)
    "gnome-backgrounds": "43.1-1: renders and SVG vector art (gnome-backgrounds-3.38 holds the photographs of an older version)",
    "ukui-wallpapers": "20.04.3-1.1: illustrations and renders",
    "sway-backgrounds": "1.7-6: one vector logo at eight sizes",
    "lomiri-wallpapers": "20.04.0-2: one render (warty-final-ubuntu)",
    "xfdesktop4-data": "4.18.1-1: gradients with the Xfce logo, SVG files",
    "desktop-base": "12.0.6+nmu1~deb12u1: Debian's theme artwork",
    "mypaint-data-extras": "2.0.1-9: palette-quantised tileable paper textures",
}


@dataclass(frozen=True)
class Photo:
    """One converted photograph and where it came from."""

    package: str
    version: str
    path: str            # inside the package
    source_sha256: str   # of the original file
    licence: str
    pixels: np.ndarray
    factor: int          # the block-mean factor it was converted with
    forced_test: bool = False

    @property
    def pixels_sha256(self) -> str:
        """The hash of the converted pixels (with their shape): the split rule reads it."""
        return hashlib.sha256(repr(self.pixels.shape).encode() + self.pixels.tobytes()).hexdigest()


def block_factor(image_format: str, height: int, width: int) -> int:
    """The block-mean factor of a source: 4 at least for JPEG ones (their block artefacts), and enough to bring
    the longer side to about MAX_SIDE."""
    factor = -(-max(height, width) // MAX_SIDE)
    return max(factor, JPEG_FACTOR) if image_format in LOSSY_FORMATS else factor


def convert(file: Path) -> tuple[np.ndarray, int]:
    """A source file as the grey or RGB uint8 pixels written for it, and the block factor used."""
    from PIL import Image

    with Image.open(file) as image:
        image_format = image.format
        pixels = grey_or_rgb(image)
    factor = block_factor(image_format, *pixels.shape[:2])
    return (block_mean(pixels, factor) if factor > 1 else pixels), factor


def load_photo(package: str, version: str, path: str, file: Path, licence: str, forced_test: bool = False) -> Photo:
    """A source file converted, with the hash of its original bytes for the manifest."""
    pixels, factor = convert(file)
    return Photo(package, version, path, hashlib.sha256(file.read_bytes()).hexdigest(), licence, pixels, factor, forced_test)


def shipped_photos() -> list[Photo]:
    """scikit-image's photographs (bbvae/datasets/photos.py); the benchmark's three are forced into test."""
    try:
        import skimage
        import skimage.data
    except ImportError:
        raise DataError("the photo set needs scikit-image: pip install scikit-image") from None
    folder = Path(skimage.data.__file__).parent
    return [load_photo(SHIPPED, skimage.__version__, f"skimage/data/{name}", folder / name, SHIPPED_LICENCE, name in TEST_PHOTOS)
            for name in TRAIN_PHOTOS + TEST_PHOTOS]


def _matches(path: str, pattern: str) -> bool:
    """A path inside a package against a rule's pattern, one path component per component."""
    parts, wanted = PurePosixPath(path).parts, PurePosixPath(pattern).parts
    return len(parts) == len(wanted) and all(fnmatchcase(part, want) for part, want in zip(parts, wanted))


def rule_files(rule: PackageRule, root: Path) -> list[tuple[str, Path]]:
    """(path inside the package, file) of the photographs a rule names in an extracted package, in path order.
    Symbolic links are skipped: they are other names of a file already there."""
    found = []
    for file in sorted(root.rglob("*")):
        path = file.relative_to(root).as_posix()
        if (file.is_file() and not file.is_symlink() and any(_matches(path, p) for p in rule.photographs)
                and not any(_matches(path, p) for p in rule.excluded)):
            found.append((path, file))
    return found


def copyright_paragraphs(text: str) -> list[tuple[tuple[str, ...], str]]:
    """(file patterns, licence name) of each Files paragraph of a machine-readable debian/copyright."""
    paragraphs = []
    for block in re.split(r"\n[ \t]*\n", text):
        fields, key = {}, None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
        if "files" in fields and fields.get("license"):
            paragraphs.append((tuple(fields["files"].split()), fields["license"].split()[0]))
    return paragraphs


def _covers(pattern: str, path: str) -> bool:
    """Whether a debian/copyright pattern (a path in the source tree) names an installed file: the installed
    path ends with it, or, for a pattern without wildcards in its file name, the file names are the same
    (packages install files from other folders than the source keeps them in)."""
    name = pattern.rsplit("/", 1)[-1]
    return (pattern == "*" or fnmatchcase(path, "*/" + pattern)
            or (not any(c in name for c in "*?[") and PurePosixPath(path).name == name))


def licence_of(path: str, paragraphs: list[tuple[tuple[str, ...], str]]) -> str | None:
    """The licence of a file: the last paragraph that covers it wins (DEP-5)."""
    found = None
    for patterns, licence in paragraphs:
        if any(_covers(pattern, path) for pattern in patterns):
            found = licence
    return found


def package_photos(package: str, rule: PackageRule, root: Path) -> list[Photo]:
    """The photographs of an extracted package (root holds its usr/), each with its licence from the package's
    debian/copyright (or the rule's, where that file is not machine-readable)."""
    debian_name = rule.package or package
    copyright_file = root / "usr/share/doc" / debian_name / "copyright"
    if not copyright_file.is_file():
        raise DataError(f"{package}: no usr/share/doc/{debian_name}/copyright in the package")
    paragraphs = copyright_paragraphs(copyright_file.read_text(errors="replace"))
    files = rule_files(rule, root)
    if not files:
        raise DataError(f"{package} {rule.version}: no file matches its rule {', '.join(rule.photographs)}")
    photos = []
    for path, file in files:
        licence = rule.licence or licence_of(path, paragraphs)
        if licence is None:
            raise DataError(f"{package}: its debian/copyright gives no licence for {path}")
        photos.append(load_photo(package, rule.version, path, file, licence))
    return photos


def _extract(deb: Path, folder: str) -> None:
    """Unpack a .deb file's files into folder with dpkg-deb; DataError with its last line of complaint."""
    try:
        done = subprocess.run(["dpkg-deb", "-x", str(deb), folder], capture_output=True, text=True)
    except FileNotFoundError:
        raise DataError("dpkg-deb is missing: bbvae photoset needs Debian's dpkg-deb") from None
    if done.returncode != 0:
        raise DataError(f"dpkg-deb -x {deb}: {(done.stderr.splitlines() or ['failed'])[-1]}")


def fetch(rule: PackageRule, cache: Path, say=print) -> Path:
    """The .deb file a rule pins, downloaded from the Debian archive into the cache once and checked by its SHA-256."""
    cache.mkdir(parents=True, exist_ok=True)
    deb = cache / PurePosixPath(rule.deb).name
    if not deb.exists():
        say(f"downloading {rule.deb} into {cache}")
        partial = deb.with_name(deb.name + ".part")
        try:
            with urllib.request.urlopen(DEBIAN_ARCHIVE + rule.deb, timeout=60) as response:
                partial.write_bytes(response.read())
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise DataError(f"cannot download {DEBIAN_ARCHIVE}{rule.deb}: {exc}") from None
        partial.replace(deb)
    if hashlib.sha256(deb.read_bytes()).hexdigest() != rule.sha256:
        raise DataError(f"{deb} is not the pinned file (its SHA-256 differs): delete it and rerun")
    return deb


def rule_of(package: str) -> PackageRule:
    """The reviewed rule of a package; DataError naming why for a rejected or unknown one."""
    if package in REJECTED:
        raise DataError(f"{package} was reviewed and holds no photograph ({REJECTED[package]})")
    if package not in PACKAGES:
        raise DataError(f"unknown package {package!r}: use some of {', '.join(PACKAGES)}")
    return PACKAGES[package]


def debian_photos(package: str, cache: Path, say=print) -> tuple[list[Photo], dict]:
    """Download, extract and convert one reviewed package; also what the manifest says about it."""
    rule = rule_of(package)
    deb = fetch(rule, cache, say)
    with tempfile.TemporaryDirectory(prefix="bbvae-photoset-") as folder:
        _extract(deb, folder)
        photos = package_photos(package, rule, Path(folder))
    info = {"package": rule.package or package, "version": rule.version, "suite": rule.suite, "deb": rule.deb,
            "deb_sha256": rule.sha256,
            "licence": ", ".join(sorted({p.licence for p in photos})), "photographs": list(rule.photographs),
            "excluded": list(rule.excluded), "why": rule.why}
    return photos, info


def thumbnail(pixels: np.ndarray) -> np.ndarray:
    """The grey central square of a photograph, box-averaged to THUMBNAIL x THUMBNAIL: the same picture at
    another resolution, or cropped about its centre to another shape, gives nearly the same thumbnail."""
    from PIL import Image

    image = Image.fromarray(pixels).convert("L")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    square = image.crop((left, top, left + side, top + side))
    return np.asarray(square.resize((THUMBNAIL, THUMBNAIL), Image.Resampling.BOX), dtype=np.float64)


def distances(photos: list[Photo]) -> np.ndarray:
    """The mean absolute difference of every two photographs' thumbnails, in grey levels."""
    thumbs = np.stack([thumbnail(p.pixels) for p in photos])
    return np.stack([np.abs(thumbs - one).mean(axis=(1, 2)) for one in thumbs])


def duplicate_groups(photos: list[Photo], apart: np.ndarray) -> list[list[int]]:
    """Indices of photos grouped as one picture: thumbnails within NEAR_TOLERANCE (the same pixels are the
    closest case) or a SAME_SCENE pair, transitively; each group and the list in index order."""
    parent = list(range(len(photos)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(photos)):
        for j in range(i + 1, len(photos)):
            if apart[i, j] <= NEAR_TOLERANCE or frozenset((photos[i].path, photos[j].path)) in SCENES:
                parent[max(root(i), root(j))] = min(root(i), root(j))
    groups: dict[int, list[int]] = {}
    for i in range(len(photos)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def _kind(photo: Photo, keeper: Photo) -> str:
    if photo.pixels_sha256 == keeper.pixels_sha256:
        return "same pixels"
    return "same scene" if frozenset((photo.path, keeper.path)) in SCENES else "near duplicate"


def keeper_key(photo: Photo):
    """The photograph a group keeps sorts first: a forced test one, then the most pixels, then by hash."""
    return (not photo.forced_test, -photo.pixels.size, photo.pixels_sha256, photo.package, photo.path)


def split_of(photo: Photo) -> str:
    """The split rule (SPLIT_RULE), fixed before any result is seen: it reads only the pixels."""
    if photo.forced_test:
        return "test"
    digit = int(photo.pixels_sha256, 16) % 10
    return "train" if digit < 8 else "validation" if digit == 8 else "test"


def file_name(photo: Photo) -> str:
    """The written file's name: the package and the path inside it (without usr/share/), made safe."""
    path = PurePosixPath(photo.path).with_suffix("")
    parts = path.parts[2:] if path.parts[:2] == ("usr", "share") else path.parts
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{photo.package}_{'-'.join(parts)}") + ".png"


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _earlier_files(out: Path, planned: set[str]) -> list[str]:
    """The files an earlier run wrote (its manifest lists them); DataError if a split folder holds any other
    file, which load_photos would read as part of the split."""
    manifest = out / "manifest.json"
    try:
        listed = [e["file"] for e in json.loads(manifest.read_text())["photographs"]] if manifest.exists() else []
    except (ValueError, KeyError, TypeError):
        raise DataError(f"{manifest} is not a photoset manifest; give an empty or new folder") from None
    known = set(listed) | planned
    for split in SPLITS:
        for file in sorted((out / split).glob("*")) if (out / split).is_dir() else []:
            if f"{split}/{file.name}" not in known:
                raise DataError(f"{file} was not written by bbvae photoset; give an empty or new folder")
    return listed


def _closest(photos: list[Photo], apart: np.ndarray, kept: list[int]) -> dict:
    """The two kept photographs whose thumbnails are nearest: how far the tolerance is from a false match."""
    if len(kept) < 2:
        return {}
    names = {i: f"{photos[i].package} {photos[i].path}" for i in kept}
    grey_levels, a, b = min((float(apart[i, j]), *sorted((names[i], names[j]))) for i in kept for j in kept if i < j)
    return {"a": a, "b": b, "grey_levels": round(grey_levels, 2)}


def write_photoset(out: str | Path, photos: list[Photo], packages: dict) -> dict:
    """Drop duplicates, split, and write OUT/<split>/*.png and OUT/manifest.json; returns the manifest."""
    out = Path(out)
    apart = distances(photos)
    entries, duplicates, kept = [], [], []
    for group in duplicate_groups(photos, apart):
        members = sorted(group, key=lambda i: keeper_key(photos[i]))
        keeper = photos[members[0]]
        written = f"{split_of(keeper)}/{file_name(keeper)}"
        entries.append((written, keeper))
        kept.append(members[0])
        duplicates += [{"package": photos[i].package, "path": photos[i].path, "source_sha256": photos[i].source_sha256,
                        "duplicate_of": written, "kind": _kind(photos[i], keeper)} for i in members[1:]]
    for stale in _earlier_files(out, {name for name, _ in entries}):
        (out / stale).unlink(missing_ok=True)
    records = [_write(out, written, photo) for written, photo in sorted(entries, key=lambda entry: entry[0])]
    manifest = {"split_rule": SPLIT_RULE,
                "conversion": f"block means: factor ceil(longer side / {MAX_SIDE}), at least {JPEG_FACTOR} for JPEG sources",
                "near_duplicates": f"grey central square at {THUMBNAIL}x{THUMBNAIL}, mean difference <= {NEAR_TOLERANCE}",
                "closest_kept": _closest(photos, apart, sorted(kept)), "packages": dict(sorted(packages.items())),
                "rejected_packages": REJECTED, "photographs": records,
                "duplicates": sorted(duplicates, key=lambda d: (d["package"], d["path"]))}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _write(out: Path, written: str, photo: Photo) -> dict:
    """Write one photograph's PNG file; its manifest record."""
    data = _png(photo.pixels)
    (out / written).parent.mkdir(parents=True, exist_ok=True)
    (out / written).write_bytes(data)
    return {"file": written, "split": written.split("/")[0], "package": photo.package, "version": photo.version,
            "path": photo.path, "licence": photo.licence, "source_sha256": photo.source_sha256,
            "png_sha256": hashlib.sha256(data).hexdigest(), "pixels_sha256": photo.pixels_sha256,
            "block_factor": photo.factor, "width": photo.pixels.shape[1], "height": photo.pixels.shape[0],
            "channels": 1 if photo.pixels.ndim == 2 else photo.pixels.shape[2]}


def build(out: str | Path, cache: str | Path | None = None, packages: list[str] | None = None, say=print) -> dict:
    """The whole photoset: scikit-image's photographs and the reviewed Debian packages (all by default)."""
    out = Path(out)
    cache = Path(cache) if cache is not None else out / ".cache"
    packages = list(dict.fromkeys(PACKAGES if packages is None else packages))
    for package in packages:
        rule_of(package)  # before any download: a wrong name costs nothing
    photos = shipped_photos()
    import skimage  # there: shipped_photos said how to install it otherwise

    infos = {SHIPPED: {"version": skimage.__version__, "licence": SHIPPED_LICENCE,
                       "photographs": list(TRAIN_PHOTOS + TEST_PHOTOS), "forced_test": list(TEST_PHOTOS)}}
    for package in packages:
        found, infos[package] = debian_photos(package, cache, say)
        say(f"{package} {infos[package]['version']}: {len(found)} photograph{'s' * (len(found) != 1)} ({infos[package]['licence']})")
        photos += found
    return write_photoset(out, photos, infos)


def summary(manifest: dict) -> list[str]:
    """Lines that say what a build wrote: per split, per package, and the duplicates dropped."""
    records = manifest["photographs"]
    lines = []
    for split in SPLITS:
        chosen = [r for r in records if r["split"] == split]
        lines.append(f"{split}: {len(chosen)} photographs, {sum(r['width'] * r['height'] for r in chosen)} pixels")
    for package in manifest["packages"]:
        counts = ", ".join(f"{split} {sum(r['split'] == split and r['package'] == package for r in records)}" for split in SPLITS)
        lines.append(f"{package}: {counts}")
    lines += [f"dropped {d['package']} {d['path']}: {d['kind']} of {d['duplicate_of']}" for d in manifest["duplicates"]]
    if manifest["closest_kept"]:
        closest = manifest["closest_kept"]
        lines.append(f"closest kept photographs: {closest['a']} and {closest['b']}, thumbnails {closest['grey_levels']} "
                     f"grey levels apart (near duplicates: <= {NEAR_TOLERANCE})")
    return lines
