"""The shipped photo set: scikit-image's photographs, split into train and test (held out).

The photographs come from the scikit-image wheel (the photo models' cards list
the files). Whole photographs are held out: the test split is never cropped for
training (bbvae/training/crops.py).
"""

from __future__ import annotations

from pathlib import Path

from bbvae.datasets.sources import DataError
from bbvae.io.images import grey_or_rgb

# scikit-image files: (name, file); astronaut, coffee and camera are held out (the benchmark's photographs)
TRAIN_PHOTOS = ("chelsea.png", "ihc.png", "motorcycle_left.png", "motorcycle_right.png", "rocket.jpg",
                "retina.jpg", "hubble_deep_field.jpg", "brick.png", "coins.png", "grass.png", "gravel.png",
                "moon.png", "page.png", "text.png", "cell.png", "clock_motion.png")
TEST_PHOTOS = ("astronaut.png", "coffee.png", "camera.png")


def _names(split: str) -> tuple[str, ...]:
    return TEST_PHOTOS if split == "test" else TRAIN_PHOTOS


def load_shipped(split: str) -> list:
    """The scikit-image photographs of a split, as uint8 (H, W) or (H, W, 3) arrays."""
    try:
        import skimage.data
    except ImportError:
        raise DataError("the photo set needs scikit-image: pip install scikit-image") from None
    from PIL import Image

    folder = Path(skimage.data.__file__).parent
    photos = []
    for name in _names(split):
        with Image.open(folder / name) as image:
            photos.append(grey_or_rgb(image))
    return photos


def write_split(folder: str | Path, split: str) -> list[Path]:
    """Write the photographs of a split as PNG files (for `bbvae bench --images`); returns their paths."""
    from PIL import Image

    photos = load_shipped(split)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / (Path(name).stem + ".png") for name in _names(split)]
    for path, photo in zip(paths, photos):
        Image.fromarray(photo).save(path)
    return paths
