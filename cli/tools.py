"""`bbvae allocate`, `card`, `photos`, `downscale` and `photoset`: the tools that make and document the shipped codecs."""

from __future__ import annotations

from pathlib import Path

import click

from bbvae.cli.errors import user_errors


@click.command()
@click.argument("model", metavar="MODEL_FOLDER")
@click.option("--images", default=300, show_default=True, type=click.IntRange(1), help="training images (or patches) to fit on")
@user_errors
def allocate(model, images):
    """Fit the latent bits of a first, directly coded image for the model in MODEL_FOLDER (changes its fingerprint)."""
    from bbvae.training.allocation import fit_model_file

    path, bits, fingerprint = fit_model_file(model, images)
    click.echo(f"{path}: {int(bits.sum())} bits for a directly coded latent ({int((bits > 0).sum())} of "
               f"{len(bits)} dimensions coded); fingerprint {fingerprint}")


@click.command()
@click.argument("folder", metavar="MODEL_FOLDER", type=click.Path(file_okay=False, path_type=Path))
@click.option("--iwae-samples", default=100, show_default=True, type=click.IntRange(1))
@click.option("--command", help="the command that trained the model, for the card")
@click.option("--limitations-only", is_flag=True, help="rewrite only the intended-use section; measure nothing")
@user_errors
def card(folder, iwae_samples, command, limitations_only):
    """Measure a model on its test split and write its card (README.md beside the weights)."""
    from bbvae.bench.modelcard import write_card, write_limitations

    click.echo((write_limitations(folder) if limitations_only else write_card(folder, iwae_samples, command)).read_text())


@click.command()
@click.argument("folder")
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "test"]))
@user_errors
def photos(folder, split):
    """Write the shipped photo set's split as PNG files in FOLDER, e.g. for `bbvae bench --images`."""
    from bbvae.datasets.photos import write_split

    for path in write_split(folder, split):
        click.echo(path)


@click.command()
@click.argument("source", metavar="SRC")
@click.argument("folder", metavar="DIR")
@click.option("--factor", default=4, show_default=True, type=click.IntRange(1), help="average every FACTORxFACTOR block")
@user_errors
def downscale(source, folder, factor):
    """Write every image under SRC (JPEG too), block-averaged by --factor, as a PNG file in DIR."""
    from bbvae.datasets.downscale import downscale_folder

    for path, (width, height) in downscale_folder(source, folder, factor):
        click.echo(f"{path} {width}x{height}")



@click.command()
@click.argument("folder", metavar="OUT", type=click.Path(file_okay=False, path_type=Path))
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), help="where downloaded .deb files stay  [default: OUT/.cache]")
@click.option("--packages", help="comma-separated Debian packages to use (none: '')  [default: every reviewed one, docs/DATASETS.md]")
@user_errors
def photoset(folder, cache, packages):
    """Write train, validation and test splits of whole photographs in OUT (OUT/<split>/*.png, OUT/manifest.json)
    from scikit-image and Debian packages (pinned .deb files from the Debian archive, checked by SHA-256)."""
    from bbvae.datasets.photoset import build, summary

    chosen = None if packages is None else [name.strip() for name in packages.split(",") if name.strip()]
    manifest = build(folder, cache, chosen, say=click.echo)
    for line in summary(manifest):
        click.echo(line)
    click.echo(f"wrote {folder / 'manifest.json'}")
