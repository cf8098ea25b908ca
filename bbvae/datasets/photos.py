"""The shipped photo set: scikit-image's photographs, split into train and test (held out).

The photographs come from the scikit-image wheel (the photo models' cards list
the files). Whole photographs are held out: the test split is never cropped for
training (bbvae/training/crops.py).
"""

from __future__ import annotations

# scikit-image files: (name, file); astronaut, coffee and camera are held out (the benchmark's photographs)
TRAIN_PHOTOS = ("chelsea.png", "ihc.png", "motorcycle_left.png", "motorcycle_right.png", "rocket.jpg",
                "retina.jpg", "hubble_deep_field.jpg", "brick.png", "coins.png", "grass.png", "gravel.png",
                "moon.png", "page.png", "text.png", "cell.png", "clock_motion.png")
TEST_PHOTOS = ("astronaut.png", "coffee.png", "camera.png")


def load_shipped(split: str) -> list:
    """The scikit-image photographs of a split, as uint8 (H, W) or (H, W, 3) arrays."""
    try:
        import skimage.data
    except ImportError:
        raise ImportError("the photo set needs scikit-image: pip install scikit-image") from None
    from pathlib import Path

    from PIL import Image

    from bbvae.io.images import grey_or_rgb

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
