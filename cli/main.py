"""`bbvae`: train, evaluate and list codecs; compress and decompress images."""

from __future__ import annotations

import json
import sys

import click

from bbvae import __version__
from bbvae.cli.coding import compress, decompress, info, test_files
from bbvae.cli.errors import debug_option, user_errors
from bbvae.cli.progress import LossBar
from bbvae.cli.tools import allocate, card, downscale, photos, photoset
from bbvae.models.defaults import DEFAULT_MODEL, PHOTO_MODEL

TRAIN_PRIORS = ["normal", "mog", "vamp"]  # the registry's Prior.train_option ones, without importing torch (a test checks)


def _versions() -> str:
    """What decoding depends on: the versions of bbvae and its numeric libraries, the CPU features in use,
    and the file format and arithmetic this bbvae writes."""
    import numba
    import numpy
    import torch

    from bbvae.format import container
    from bbvae.models.arithmetic import NAMES, PORTABLE

    return (f"bbvae {__version__}\n"
            f"writes format {container.FORMAT_VERSION}, arithmetic: {NAMES[PORTABLE]} (the same bits on every machine)\n"
            f"torch {torch.__version__} (CPU kernels: {torch.backends.cpu.get_cpu_capability()}), "
            f"numba {numba.__version__} (CPU: {numba.config.CPU_NAME or 'host'}), numpy {numpy.__version__}")


def _show_versions(ctx, _param, value):
    if value and not ctx.resilient_parsing:
        click.echo(_versions())
        ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_versions,
              help="show the versions that decoding depends on, and exit")
@debug_option
def cli():
    """Lossless image compression with bits-back coding and VAEs."""


cli.add_command(compress)
cli.add_command(decompress)
cli.add_command(info)
cli.add_command(test_files)
cli.add_command(allocate)
cli.add_command(card)
cli.add_command(photos)
cli.add_command(downscale)
cli.add_command(photoset)


@cli.command()
@click.option("--dataset", required=True,
              help="mnist, fashion-mnist, a folder of same-sized images; with --patch: photos or a folder of photographs")
@click.option("--patch", type=click.IntRange(4), help="train a patch model on random PATCHxPATCH crops of photographs")
@click.option("--extra-photos", type=click.Path(exists=True, file_okay=False),
              help="with --patch: a folder of more training photographs (all of them train; none is held out)")
@click.option("--mixture", default=1, show_default=True, type=click.IntRange(0),
              help="logistic components per value (1, or 0 as older commands wrote it: one logistic)")
@click.option("--local-hidden", default=32, show_default=True, type=click.IntRange(1),
              help="width of the per-pixel network of the local mixture")
@click.option("--local-neighbours", type=click.IntRange(0, 10),
              help="decoded causal neighbours each value reads (PixelVAE-like; needed with --patch): 0 for none, "
                   "6 (left, up, up-left, up-right, left-left, up-up) or up to 10 (adds up-left-left, up-right-right, "
                   "up-up-left, up-up-right); default 6 with --mixture K > 1, else 0")
@click.option("--local-layers", default=1, show_default=True, type=click.IntRange(1, 4),
              help="hidden layers of the local mixture's per-pixel network (the second and later are residual)")
@click.option("--prior", default="normal", show_default=True, type=click.Choice(TRAIN_PRIORS),
              help="latent prior: N(0, I), a learned mixture of Gaussians, or the VampPrior")
@click.option("--prior-components", default=0, show_default=True, type=click.IntRange(0), help="K for mog and vamp")
@click.option("--posterior", default="learned", show_default=True, type=click.Choice(["learned", "constant"]),
              help="posterior variance per input, or one for all inputs")
@click.option("--objective", default="elbo", show_default=True, type=click.Choice(["elbo", "iwae", "bilb"]),
              help="the ELBO, the importance-weighted bound (IWAE), or the Batch Information Lower Bound "
                   "(BILB: with --posterior constant, a floating prior N(0, Sigma + E_batch[mu^2]))")
@click.option("--iwae-train-samples", default=5, show_default=True, type=click.IntRange(2), help="K for --objective iwae")
@click.option("--kl-warmup", default=0.0, show_default=True, type=click.FloatRange(0), help="epochs of KL annealing (0 to 1)")
@click.option("--free-bits", default=0.0, show_default=True, type=click.FloatRange(0), help="nats per latent dimension")
@click.option("--epoch-patches", default=20000, show_default=True, type=click.IntRange(1), help="patches per epoch with --patch")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="model folder to write, e.g. models/NAME")
@click.option("--epochs", default=10, show_default=True, type=click.IntRange(1))
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True),
              help="stop after this much training time (evaluation excluded); the learning-rate decay spans it "
                   "instead of the epochs, which become an upper bound")
@click.option("--batch-size", default=128, show_default=True, type=click.IntRange(1), help="per process")
@click.option("--lr", default=1e-3, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--latent", default=32, show_default=True, type=click.IntRange(1), help="latent dimensions")
@click.option("--hidden", default=64, show_default=True, type=click.IntRange(2), help="feature channels")
@click.option("--blocks", default=2, show_default=True, type=click.IntRange(0),
              help="residual blocks per stage (0: none)")
@click.option("--output-kernel", default=3, show_default=True, type=click.Choice([1, 3]),
              help="side of the decoder's last convolution: 1 reads each pixel's own features only (cheaper to code)")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--threads", type=click.IntRange(1), help="torch CPU threads (default: torch's choice)")
@click.option("--test-limit", type=click.IntRange(1), help="per-epoch figures on the first N held-out (validation) images only")
@click.option("--resume", is_flag=True, help="continue the run in --out from its checkpoint")
@click.option("--init-from", metavar="MODEL",
              help="start from a trained model's weights (shipped name or path); the new model must hold all of them "
                   "and may add layers, e.g. --local-layers 2 on a one-layer model")
@click.option("--init-partial", is_flag=True,
              help="with --init-from: start a cheaper model too, dropping the weights that have no place "
                   "(--blocks 0) and summing a 3x3 last layer's taps into a 1x1 one (--output-kernel 1)")
@click.option("--quiet", is_flag=True, help="no progress bar")
@user_errors
def train(quiet, **options):
    """Train a VAE codec (uses the GPU when there is one; torchrun for several processes)."""
    from bbvae.training.train import TrainOptions
    from bbvae.training.train import train as run_training

    try:
        path = run_training(TrainOptions(**options), say=click.echo, progress=None if quiet else LossBar)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"model written to {path}")


@cli.command("fit-prior")
@click.argument("model_name", metavar="MODEL")
@click.option("--dataset", default="mnist", show_default=True, help="the dataset MODEL was trained on (train split)")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="model folder to write")
@click.option("--prior-latent", default=16, show_default=True, type=click.IntRange(1), help="the second VAE's latent dimensions")
@click.option("--epochs", default=20, show_default=True, type=click.IntRange(1))
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(1))
@click.option("--lr", default=1e-3, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--threads", type=click.IntRange(1), help="torch CPU threads (default: torch's choice)")
@user_errors
def fit_prior(model_name, dataset, out, prior_latent, epochs, batch_size, lr, seed, threads):
    """Fit the two-stage prior (Dai and Wipf): a second VAE on MODEL's latents, which becomes its prior."""
    from bbvae.training.two_stage import fit_prior as fit

    path = fit(model_name, dataset, out, prior_latent, epochs, batch_size, lr, seed, threads, say=click.echo)
    click.echo(f"model written to {path}")


@cli.command("eval")
@click.option("--model", "model_name", default=DEFAULT_MODEL, show_default=True, help="shipped model name or path")
@click.option("--dataset", default="mnist", show_default=True,
              help="mnist, fashion-mnist, or a folder of images; for a photo model: photos or a folder of photographs")
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "validation", "test"]),
              help="validation: of a folder that `bbvae photoset` wrote, or for digits the end of the train split "
                   "that `bbvae train` holds out (train is the rest)")
@click.option("--limit", type=click.IntRange(1), help="only the first N images (patches for a photo model)")
@click.option("--iwae-samples", default=100, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--float32", "float32", is_flag=True,
              help="the float32 networks as trained, not the portable fixed-point model that bbvae codes with")
@click.option("--json", "as_json", is_flag=True, help="print only one JSON object on stdout (the text goes to stderr)")
@click.option("--quiet", is_flag=True, help="no progress bar")
@user_errors
def eval_command(model_name, dataset, split, limit, iwae_samples, seed, float32, as_json, quiet):
    """Negative ELBO and IWAE bits/dim of a model on a dataset split (of the coded model unless --float32)."""
    from bbvae.models.evaluate import evaluate
    from bbvae.models.modelfile import load_model
    from bbvae.training.sets import evaluation_set

    model, info = load_model(model_name)
    images, coded = evaluation_set(info, dataset, split)
    images, coded = images[:limit], None if coded is None else coded[:limit]
    result = evaluate(model, images, iwae_samples, seed=seed, progress=None if quiet else _bar("evaluating"), coded=coded,
                      as_coded=not float32)
    result = {"model": str(info.path), "dataset": dataset, "split": split, **result}
    click.echo(f"{result['images']} images: negative ELBO {result['elbo_bpd']:.4f} bits/dim "
               f"(the latent's KL {100 * result['kl_share']:.2f}% of it), IWAE (k={iwae_samples}) {result['iwae_bpd']:.4f} bits/dim",
               err=as_json)
    if as_json:
        click.echo(json.dumps(result))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="print only one JSON list on stdout (the text goes to stderr)")
@user_errors
def models(as_json):
    """List the shipped codecs."""
    from bbvae.models.modelfile import ModelFileError, load_model, model_folders

    picked_for = {DEFAULT_MODEL: "28x28 grey digits", PHOTO_MODEL: "everything else"}

    rows = []
    for folder in model_folders():
        try:
            _, info = load_model(folder)
        except ModelFileError as exc:
            click.echo(f"{folder.name}: unreadable ({exc})", err=True)
            continue
        facts = info.info
        rows.append({
            "name": info.path.parent.name, "path": str(info.path), "dataset": facts.get("dataset"),
            "bytes": info.path.stat().st_size, "test_elbo_bpd": facts.get("test_elbo_bpd"),
            "test_iwae_bpd": facts.get("test_iwae_bpd"), "default": info.path.parent.name == DEFAULT_MODEL,
            "picked_for": picked_for.get(info.path.parent.name), "fingerprint": info.fingerprint,
        })
    for row in rows:
        mark = f" (picked for {row['picked_for']})" if row["picked_for"] else ""
        bpd = f"{row['test_elbo_bpd']:.4f}" if row["test_elbo_bpd"] is not None else "?"
        click.echo(f"{row['name']}{mark}: {row['dataset']}, {row['bytes'] / 1e6:.2f} MB, "
                   f"test -ELBO {bpd} bits/dim, {row['path']}", err=as_json)
    if not rows:
        click.echo("no shipped models found", err=as_json)
    if as_json:
        click.echo(json.dumps(rows))


@cli.command()
@click.option("--dataset", default="mnist", show_default=True)
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "test"]))
@click.option("--limit", type=click.IntRange(1), help="only the first N images")
@click.option("--images", "image_folder", type=click.Path(exists=True, file_okay=False),
              help="benchmark the photo codec on a folder of photographs instead of a dataset")
@click.option("--model", "model_name", default=None, help=f"default: {DEFAULT_MODEL} for datasets, {PHOTO_MODEL} for --images")
@click.option("--jobs", default=2, show_default=True, type=click.IntRange(1), help="coding threads (and JPEG XL threads)")
@click.option("--json", "as_json", is_flag=True, help="print only one JSON object on stdout (the text goes to stderr)")
@user_errors
def bench(dataset, split, limit, image_folder, model_name, jobs, as_json):
    """Measured bits/dim vs the model's bound and classical codecs, and speed (benchmarks/results/)."""
    say = lambda text: click.echo(text, err=as_json)  # noqa: E731
    if image_folder:
        from bbvae.bench.photos import run as run_photos

        summary = run_photos(image_folder, model_name or PHOTO_MODEL, jobs, say=say)
        line = (f"{summary['images']} photographs: bbvae {summary['bbvae_bpd']:.4f} bits/dim (model path "
                f"{summary['model_path_bpd']:.4f}), PNG {summary['png_bpd']:.4f}, WebP {summary['webp_bpd']:.4f}, "
                f"JPEG XL e10 {summary['jxl_e10_bpd']:.4f}; {summary['encode_mpix_s']:.3f} / "
                f"{summary['decode_mpix_s']:.3f} Mpixel/s")
    else:
        from bbvae.bench.digits import run

        summary = run(dataset, split, limit, model_name or DEFAULT_MODEL, jobs, say=say)
        line = (f"coded {summary['coded_bpd']:.4f} bits/dim vs negative ELBO {summary['elbo_bpd']:.4f} "
                f"(gap {summary['gap_pct']:.2f}%); one file per image {summary['single_file_mean_bytes']:.1f} bytes "
                f"(JPEG XL e10 {summary['jxl_e10_single_file_mean_bytes']:.1f}); "
                f"{summary['encode_images_per_s']:.0f} / {summary['decode_images_per_s']:.0f} images/s")
    click.echo(line, err=as_json)
    if as_json:
        click.echo(json.dumps(summary))


@cli.command()
@click.argument("models", nargs=-1, required=True)
@click.option("--dataset", default="mnist", show_default=True, help="mnist, fashion-mnist, or a folder of images")
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "test"]))
@click.option("--limit", type=click.IntRange(1), help="only the first N images")
@click.option("--iwae-samples", default=100, show_default=True, type=click.IntRange(1))
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1), help="threads for coding")
@click.option("--particles", default=8, show_default=True, type=click.IntRange(1, 64),
              help="also code with K importance samples per image (coded_iw_bpd; 1: skip)")
@click.option("--json", "as_json", is_flag=True,
              help="print only one JSON object (with its rows) on stdout (the text goes to stderr)")
@user_errors
def compare(models, dataset, split, limit, iwae_samples, jobs, particles, as_json):
    """Compare models (names from `bbvae models` or paths): bounds, measured bits/dim, speed."""
    from bbvae.bench.compare import COLUMNS
    from bbvae.bench.compare import run as run_compare
    from bbvae.bench.report import markdown_table

    summary = run_compare(list(models), dataset, split, limit, iwae_samples, jobs, particles,
                          say=lambda text: click.echo(text, err=True))
    click.echo(markdown_table(summary["rows"], COLUMNS), err=as_json)
    if as_json:
        click.echo(json.dumps(summary))


def _bar(label):
    def wrap(items):
        with click.progressbar(items, label=label, file=sys.stderr) as bar:
            yield from bar

    return wrap


def main():
    cli(prog_name="bbvae")  # click ends a closed pipe (`bbvae info x | head -1`) quietly with status 1


if __name__ == "__main__":
    main()
