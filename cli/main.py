"""`bbvae`: train, evaluate and list codecs; compress and decompress images."""

from __future__ import annotations

import sys

import click

from bbvae import __version__


class UserError(click.ClickException):
    """A one-line error and exit status 1, never a traceback."""

    def show(self, file=None):
        click.echo(f"bbvae: error: {self.format_message()}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bbvae")
def cli():
    """Lossless image compression with bits-back coding and VAEs."""


@cli.command()
@click.option("--dataset", required=True, help="mnist, fashion-mnist, or a folder of images")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="model folder to write, e.g. models/NAME")
@click.option("--epochs", default=10, show_default=True, type=click.IntRange(1))
@click.option("--batch-size", default=128, show_default=True, type=click.IntRange(1), help="per process")
@click.option("--lr", default=1e-3, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--latent", default=32, show_default=True, type=click.IntRange(1), help="latent dimensions")
@click.option("--hidden", default=64, show_default=True, type=click.IntRange(2), help="feature channels")
@click.option("--blocks", default=2, show_default=True, type=click.IntRange(1), help="residual blocks per stage")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--threads", type=click.IntRange(1), help="torch CPU threads (default: torch's choice)")
@click.option("--test-limit", type=click.IntRange(1), help="evaluate on the first N test images only")
@click.option("--resume", is_flag=True, help="continue the run in --out from its checkpoint")
@click.option("--quiet", is_flag=True, help="no progress bar")
def train(quiet, **options):
    """Train a VAE codec (uses the GPU when there is one; torchrun for several processes)."""
    from bbvae.data import DataError
    from bbvae.modelfile import ModelFileError
    from bbvae.train import TrainOptions, train as run_training

    from .progress import LossBar

    try:
        path = run_training(TrainOptions(**options), say=click.echo, progress=None if quiet else LossBar)
    except (DataError, ModelFileError, FileNotFoundError, ValueError) as exc:
        raise UserError(str(exc)) from None
    except KeyboardInterrupt:
        sys.exit(130)
    click.echo(f"model written to {path}")


def main():
    cli(prog_name="bbvae")


if __name__ == "__main__":
    main()
