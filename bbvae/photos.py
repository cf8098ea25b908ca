"""Photographs for patch models: the context around an image, random training crops, the shipped photo set.

A patch model predicts each pixel from neighbours up to two rows above, two
columns left and two columns right of it (bbvae/local_mixture.py), and pixels
are decoded in raster order across the whole image width
(bbvae/patch_codec.py), so all of those are decoded before it. `with_context`
surrounds an image with two rows of 128 above, two columns left and two columns
right, so that every pixel has those neighbours (image (y, x) sits at context
(y + 2, x + 2)); the first rows and columns of an image are predicted from the
constant. Training crops carry the same margins, taken from the photograph
around them (or the constant at its edges), so that patches are modelled as they
are coded.

The shipped photo set (`photos`) comes from the scikit-image wheel (its model
cards list the files). Whole photographs are held out: the test split is never cropped for
training.
"""

from __future__ import annotations

import numpy as np

from .local_mixture import CONTEXT, CONTEXT_RIGHT

CONTEXT_FILL = 128
PHOTO_CHANNELS = 3
# scikit-image files: (name, file); astronaut, coffee and camera are held out (the benchmark's photographs)
TRAIN_PHOTOS = ("chelsea.png", "ihc.png", "motorcycle_left.png", "motorcycle_right.png", "rocket.jpg",
                "retina.jpg", "hubble_deep_field.jpg", "brick.png", "coins.png", "grass.png", "gravel.png",
                "moon.png", "page.png", "text.png", "cell.png", "clock_motion.png")
TEST_PHOTOS = ("astronaut.png", "coffee.png", "camera.png")


def with_context(image: np.ndarray) -> np.ndarray:
    """(H, W, C) uint8 -> (H + 2, W + 4, C): the image inside its margins of 128 (module docstring)."""
    height, width = image.shape[:2]
    out = np.full((height + CONTEXT, width + CONTEXT + CONTEXT_RIGHT) + image.shape[2:], CONTEXT_FILL, dtype=np.uint8)
    out[CONTEXT:, CONTEXT:CONTEXT + width] = image
    return out


def images_with_context(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) uint8 -> (N, C, H + 2, W + 4): each image inside its own margins, as with_context."""
    count, channels, height, width = images.shape
    out = np.full((count, channels, height + CONTEXT, width + CONTEXT + CONTEXT_RIGHT), CONTEXT_FILL, dtype=np.uint8)
    out[:, :, CONTEXT:, CONTEXT:CONTEXT + width] = images
    return out


def as_photo_channels(image: np.ndarray) -> tuple[np.ndarray, int]:
    """(H, W, 3) pixels for the photo model, and how many of its channels are real (1 for grey, 3 for colour)."""
    if image.ndim == 2:
        return np.repeat(image[:, :, None], PHOTO_CHANNELS, axis=2), 1
    if image.shape[2] != PHOTO_CHANNELS:
        raise ValueError(f"photo models code grey or RGB pixels, got {image.shape[2]} channels")
    return image, PHOTO_CHANNELS


def _variants(photo: np.ndarray) -> list[np.ndarray]:
    """The photo, mirrored, transposed and both: natural images too, so four times the training data.

    Each variant gets its own causal context, so crops of it are coded exactly as they are trained.
    """
    return [photo, photo[:, ::-1], photo.swapaxes(0, 1), photo[:, ::-1].swapaxes(0, 1)]


class PatchSampler:
    """Random (or grid) patches with their context from a list of photographs, in model layout (N, C, P+2, P+3).

    With `augment`, random patches come from every photo's four variants (_variants).
    Photos are drawn equally often whatever their size, so that one large photo
    (a mostly black retina scan, say) does not dominate.
    """

    def __init__(self, photos: list[np.ndarray], patch: int, augment: bool = False):
        self.patch = patch
        self.photos = []
        for photo in photos:
            if min(photo.shape[:2]) < patch:
                continue
            for variant in (_variants(photo) if augment else [photo]):
                pixels, coded = as_photo_channels(np.ascontiguousarray(variant))
                self.photos.append((with_context(pixels).transpose(2, 0, 1).copy(), coded))
        if not self.photos:
            raise ValueError(f"no photograph is at least {patch}x{patch} pixels")

    def random(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        """`count` crops at uniform positions of uniformly drawn photos."""
        p = self.patch
        which = rng.integers(0, len(self.photos), size=count)
        rows, columns = p + CONTEXT, p + CONTEXT + CONTEXT_RIGHT
        batch = np.empty((count, PHOTO_CHANNELS, rows, columns), dtype=np.uint8)
        coded = np.empty(count, dtype=np.int64)
        for n, index in enumerate(which):
            padded, coded[n] = self.photos[index]
            top = rng.integers(0, padded.shape[1] - rows + 1)
            left = rng.integers(0, padded.shape[2] - columns + 1)
            batch[n] = padded[:, top:top + rows, left:left + columns]
        return batch, coded

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Every whole, non-overlapping patch of every photo (a fixed evaluation set)."""
        p = self.patch
        crops, coded = [], []
        rows, columns = p + CONTEXT, p + CONTEXT + CONTEXT_RIGHT
        for padded, coded_channels in self.photos:
            for top in range(0, padded.shape[1] - rows + 1, p):
                for left in range(0, padded.shape[2] - columns + 1, p):
                    crops.append(padded[:, top:top + rows, left:left + columns])
                    coded.append(coded_channels)
        return np.stack(crops), np.array(coded, dtype=np.int64)


def load_shipped(split: str) -> list[np.ndarray]:
    """The scikit-image photographs of a split, as uint8 (H, W) or (H, W, 3) arrays."""
    try:
        import skimage.data
    except ImportError:
        raise ImportError("the photo set needs scikit-image: pip install scikit-image") from None
    from pathlib import Path

    from PIL import Image

    from .data import grey_or_rgb

    folder = Path(skimage.data.__file__).parent
    photos = []
    for name in (TEST_PHOTOS if split == "test" else TRAIN_PHOTOS):
        with Image.open(folder / name) as image:
            photos.append(grey_or_rgb(image))
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
