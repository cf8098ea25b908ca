"""Photographs for patch models: the causal context rule, random training crops, the shipped photo set.

A patch model predicts each pixel from its left, upper and upper-left
neighbours (bbvae/local_mixture.py). `with_context` gives every image one extra
row on top and one column on the left, so that every pixel has those three
neighbours; the extra values are copies of pixels that come earlier in raster
order (or 128 before the first pixel), so a decoder can fill them in as it goes:

    context[0, 0] = context[0, 1] = context[1, 0] = 128
    context[0, x + 2] = image[0, x]      (the row above row 0 repeats row 0, shifted right by one)
    context[y + 2, 0] = image[y, 0]      (the column left of column 0 repeats column 0, shifted down)

Training and coding use this same rule, so an image's first row and column
are modelled exactly as they are coded.

The shipped photo set (`photos`) comes from the scikit-image wheel (DESIGN.md
section 7). Whole photographs are held out: the test split is never cropped for
training.
"""

from __future__ import annotations

import numpy as np

CONTEXT_FILL = 128
PHOTO_CHANNELS = 3
# scikit-image files: (name, file); astronaut, coffee and camera are held out (the benchmark's photographs)
TRAIN_PHOTOS = ("chelsea.png", "ihc.png", "motorcycle_left.png", "motorcycle_right.png", "rocket.jpg",
                "retina.jpg", "hubble_deep_field.jpg", "brick.png", "coins.png", "grass.png", "gravel.png",
                "moon.png", "page.png", "text.png", "cell.png", "clock_motion.png")
TEST_PHOTOS = ("astronaut.png", "coffee.png", "camera.png")


def with_context(image: np.ndarray) -> np.ndarray:
    """(H, W, C) uint8 -> (H + 1, W + 1, C) with the causal context row and column (module docstring)."""
    height, width = image.shape[:2]
    out = np.full((height + 1, width + 1) + image.shape[2:], CONTEXT_FILL, dtype=np.uint8)
    out[1:, 1:] = image
    out[0, 2:] = image[0, :-1]
    out[2:, 0] = image[:-1, 0]
    return out


def as_photo_channels(image: np.ndarray) -> tuple[np.ndarray, int]:
    """(H, W, 3) pixels for the photo model, and how many of its channels are real (1 for grey, 3 for colour)."""
    if image.ndim == 2:
        return np.repeat(image[:, :, None], PHOTO_CHANNELS, axis=2), 1
    if image.shape[2] != PHOTO_CHANNELS:
        raise ValueError(f"photo models code grey or RGB pixels, got {image.shape[2]} channels")
    return image, PHOTO_CHANNELS


class PatchSampler:
    """Random (or grid) patches with their context from a list of photographs, in model layout (N, C, P+1, P+1)."""

    def __init__(self, photos: list[np.ndarray], patch: int):
        self.patch = patch
        self.photos = []
        for photo in photos:
            pixels, coded = as_photo_channels(photo)
            if min(pixels.shape[:2]) >= patch:
                self.photos.append((with_context(pixels).transpose(2, 0, 1).copy(), coded))
        if not self.photos:
            raise ValueError(f"no photograph is at least {patch}x{patch} pixels")
        areas = np.array([p.shape[1] * p.shape[2] for p, _ in self.photos], dtype=np.float64)
        self.weights = areas / areas.sum()

    def random(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        """`count` crops at uniform positions, photos weighted by area (no mirroring: the context is causal)."""
        p = self.patch
        which = rng.choice(len(self.photos), size=count, p=self.weights)
        batch = np.empty((count, PHOTO_CHANNELS, p + 1, p + 1), dtype=np.uint8)
        coded = np.empty(count, dtype=np.int64)
        for n, index in enumerate(which):
            padded, coded[n] = self.photos[index]
            top = rng.integers(0, padded.shape[1] - p)
            left = rng.integers(0, padded.shape[2] - p)
            batch[n] = padded[:, top:top + p + 1, left:left + p + 1]
        return batch, coded

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Every whole, non-overlapping patch of every photo (a fixed evaluation set)."""
        p = self.patch
        crops, coded = [], []
        for padded, real in self.photos:
            for top in range(0, padded.shape[1] - p, p):
                for left in range(0, padded.shape[2] - p, p):
                    crops.append(padded[:, top:top + p + 1, left:left + p + 1])
                    coded.append(real)
        return np.stack(crops), np.array(coded, dtype=np.int64)


def load_shipped(split: str) -> list[np.ndarray]:
    """The scikit-image photographs of a split, as uint8 (H, W) or (H, W, 3) arrays."""
    try:
        import skimage.data
    except ImportError:
        raise ImportError("the photo set needs scikit-image: pip install scikit-image") from None
    from pathlib import Path

    from PIL import Image

    folder = Path(skimage.data.__file__).parent
    photos = []
    for name in (TEST_PHOTOS if split == "test" else TRAIN_PHOTOS):
        with Image.open(folder / name) as image:
            photos.append(np.asarray(image.convert("RGB") if image.mode not in ("L", "RGB") else image).copy())
    return photos


def main():
    """Write the shipped photo set's split as PNG files, e.g. for `bbvae bench --images`."""
    import argparse
    from pathlib import Path

    from PIL import Image

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("folder")
    parser.add_argument("--split", default="test", choices=["train", "test"])
    args = parser.parse_args()
    out = Path(args.folder)
    out.mkdir(parents=True, exist_ok=True)
    names = TEST_PHOTOS if args.split == "test" else TRAIN_PHOTOS
    for name, photo in zip(names, load_shipped(args.split)):
        Image.fromarray(photo).save(out / (Path(name).stem + ".png"))
        print(out / (Path(name).stem + ".png"))


if __name__ == "__main__":
    main()
