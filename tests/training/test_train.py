"""`bbvae train`, `eval` and `models` as a user runs them, on a tiny folder dataset."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
import torch
from helpers import image_folder, run_cli

from bbvae.models.modelfile import load_model

TINY_ARCH = ["--hidden", "8", "--blocks", "1", "--latent", "3", "--threads", "1", "--quiet"]


def log_lines(out):
    return [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]


def assert_best_is_the_lowest_held_out_epoch(out):
    """best.safetensors holds the epoch with the lowest held-out -ELBO, and the log marks each new best."""
    log = log_lines(out)
    lowest = min(log, key=lambda r: r["test_elbo_bpd"])
    _, best = load_model(out / "best.safetensors")
    assert best.info["epochs"] == lowest["epoch"] and best.info["test_elbo_bpd"] == lowest["test_elbo_bpd"]
    running = float("inf")
    for record in log:
        assert record["best"] == (record["test_elbo_bpd"] < running)
        running = min(running, record["test_elbo_bpd"])


def test_train_resume_eval_and_models(tmp_path):
    folder = image_folder(tmp_path / "images")
    out = tmp_path / "models" / "tiny"
    first = run_cli("train", "--dataset", str(folder), "--out", str(out), "--epochs", "2", "--batch-size", "4", *TINY_ARCH)
    assert first.returncode == 0, first.stderr
    assert "training on cpu" in first.stdout
    assert [r["epoch"] for r in log_lines(out)] == [1, 2]
    resumed = run_cli("train", "--dataset", str(folder), "--out", str(out), "--epochs", "3", "--batch-size", "4",
                      "--resume", *TINY_ARCH)
    assert resumed.returncode == 0, resumed.stderr
    assert [r["epoch"] for r in log_lines(out)] == [1, 2, 3]
    _, info = load_model(out)
    assert info.info["epochs"] == 3 and info.info["dataset"] == str(folder)
    assert info.info["machine"] == "CPU, torch threads: 1"  # the model card's record of where it trained
    assert_best_is_the_lowest_held_out_epoch(out)

    evaluated = run_cli("eval", "--model", str(out), "--dataset", str(folder), "--split", "test",
                        "--iwae-samples", "4", "--json", "--quiet")
    assert evaluated.returncode == 0, evaluated.stderr
    result = json.loads(evaluated.stdout.strip().splitlines()[-1])
    assert result["images"] > 0 and result["iwae_bpd"] <= result["elbo_bpd"] + 0.05
    assert 0 <= result["kl_bpd"] < result["elbo_bpd"] and result["kl_share"] == result["kl_bpd"] / result["elbo_bpd"]

    broken = tmp_path / "models" / "broken"
    broken.mkdir()
    (broken / "model.safetensors").write_bytes(b"oops")
    listed = run_cli("models", "--json", env={"BBVAE_MODELS": str(tmp_path / "models")})
    rows = json.loads(listed.stdout.strip().splitlines()[-1])
    assert [(r["name"], r["path"]) for r in rows] == [("tiny", str(out / "model.safetensors"))]
    assert "broken: unreadable" in listed.stderr


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupting_leaves_a_usable_checkpoint(tmp_path, stop):
    folder = image_folder(tmp_path / "images", count=200)
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "bbvae.cli.main", "train", "--dataset", str(folder), "--out", str(out),
                                "--epochs", "1000", "--batch-size", "2", *TINY_ARCH],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               # a job started in the background inherits SIGINT ignored; Ctrl-C is what we test
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while not (out / "train_log.jsonl").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.3)
    process.send_signal(stop)
    try:
        _, stderr = process.communicate(timeout=180)  # generous: a loaded CI machine is slow
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"training did not stop within 180 s of the signal: {process.communicate()[1][-2000:]}")
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))
    saved = torch.load(out / "checkpoint.pt", weights_only=True)
    assert saved["epoch"] >= 1 or saved["batches_done"] > 0
    load_model(out)  # the model file is whole
    resumed = run_cli("train", "--dataset", str(folder), "--out", str(out), "--epochs", str(saved["epoch"] + 1),
                      "--batch-size", "2", "--resume", *TINY_ARCH)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stdout


def test_minutes_size_the_run_and_its_learning_rate_decay(tmp_path):
    folder = image_folder(tmp_path / "images", count=60)
    out = tmp_path / "timed"
    args = ["train", "--dataset", str(folder), "--out", str(out), "--epochs", "100000", "--batch-size", "4",
            "--lr", "1e-3", "--minutes", "0.05", *TINY_ARCH]
    timed = run_cli(*args)
    assert timed.returncode == 0, timed.stderr
    log = log_lines(out)
    assert 1 <= len(log) < 100000
    assert log[-1]["seconds"] >= 3.0 and log[-1]["lr"] < 0.5e-3  # 3 s of training, and the decay ran most of its way
    assert [r["lr"] for r in log] == sorted((r["lr"] for r in log), reverse=True)
    assert load_model(out)[1].info["minutes"] == 0.05
    assert_best_is_the_lowest_held_out_epoch(out)
    again = run_cli(*args, "--resume")  # its time is spent: nothing more to train
    assert again.returncode == 0, again.stderr
    assert len(log_lines(out)) == len(log)
    refused = run_cli("train", "--dataset", str(folder), "--out", str(tmp_path / "x"), "--minutes", "0", *TINY_ARCH)
    assert refused.returncode != 0 and "--minutes" in refused.stderr and not (tmp_path / "x").exists()


def test_schedule_progress_counts_training_time_with_minutes_and_epochs_without():
    from bbvae.training.train import TrainOptions, learning_rate, progress_at

    by_epochs = TrainOptions(dataset="mnist", out="unused", epochs=4)
    by_time = TrainOptions(dataset="mnist", out="unused", epochs=4, minutes=2.0)
    assert progress_at(by_epochs, 1.0, 999.0) == 0.25
    assert progress_at(by_time, 1.0, 60.0) == 0.5
    assert learning_rate(by_time, progress_at(by_time, 0.0, 0.0)) == by_time.lr
    assert learning_rate(by_time, progress_at(by_time, 3.0, 120.0)) == pytest.approx(by_time.lr * 0.05)


def test_distributed_training_with_two_gloo_processes(tmp_path):
    folder = image_folder(tmp_path / "images", count=60)
    out = tmp_path / "ddp"
    launched = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "bbvae.cli.main",
         "train", "--dataset", str(folder), "--out", str(out), "--epochs", "2", "--batch-size", "4", "--minutes", "10",
         *TINY_ARCH],
        capture_output=True, text=True, timeout=300)
    assert launched.returncode == 0, launched.stderr[-2000:]
    assert "2 process(es)" in launched.stdout
    _, info = load_model(out)
    assert info.info["processes"] == 2 and info.info["epochs"] == 2
    assert len(log_lines(out)) == 2


def test_bad_inputs_get_one_line_errors(tmp_path):
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"nonsense")
    for args in (["eval", "--model", str(garbage)], ["eval", "--model", "no-such-model"],
                 ["train", "--dataset", "no-such-data", "--out", str(tmp_path / "x")]):
        result = run_cli(*args)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_patch_model_trains_on_a_folder_of_photographs_plus_extra_photographs(tmp_path):
    """`--extra-photos` adds every photograph of a folder to the training split and none to the test split."""
    from helpers import ar_image
    from PIL import Image

    from bbvae.datasets.sources import is_test_file

    photos, extra = tmp_path / "photos", tmp_path / "extra"
    names = [f"p{index:02d}.png" for index in range(100)]
    test_names = [n for n in names if is_test_file(photos / n)][:2]
    train_names = [n for n in names if not is_test_file(photos / n)][:6]
    for folder, chosen in ((photos, test_names + train_names), (extra, test_names + train_names[:1])):
        folder.mkdir()
        for seed, name in enumerate(chosen):
            Image.fromarray(ar_image(12 + seed % 3, 14, seed=seed)).save(folder / name)
    out = tmp_path / "patch"
    common = ["--dataset", str(photos), "--patch", "8", "--mixture", "2", "--local-hidden", "4", "--epochs", "1",
              "--epoch-patches", "16", "--batch-size", "8", *TINY_ARCH]
    plain = run_cli("train", *common, "--out", str(tmp_path / "plain"))
    assert plain.returncode == 0, plain.stderr
    added = run_cli("train", *common, "--extra-photos", str(extra), "--out", str(out))
    assert added.returncode == 0, added.stderr
    count = lambda result: int(result.stdout.split(" training photographs")[0].rsplit(" ", 1)[1])  # noqa: E731
    assert count(added) == count(plain) + 3
    assert plain.stdout.split("; ")[-1].splitlines()[0] == added.stdout.split("; ")[-1].splitlines()[0]  # same test patches
    assert load_model(out)[1].info["extra_photos"] == str(extra)

    refused = run_cli("train", "--dataset", str(photos), "--extra-photos", str(extra), "--out", str(tmp_path / "x"), *TINY_ARCH)
    assert refused.returncode != 0 and "--patch" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


def test_init_from_grows_a_trained_model_and_refuses_one_that_does_not_fit(tmp_path):
    """`--init-from` copies every weight of a trained model into a new one that may add layers; with
    `--init-partial` into a cheaper one (no residual blocks, a 1x1 last layer holding the 3x3 one's tap sums)."""
    folder = image_folder(tmp_path / "images")
    local = ["--dataset", str(folder), "--mixture", "2", "--local-hidden", "6", "--epochs", "1", "--batch-size", "8",
             *TINY_ARCH]
    source = tmp_path / "one-layer"
    assert run_cli("train", *local, "--out", str(source)).returncode == 0
    grown = tmp_path / "two-layers"
    result = run_cli("train", *local, "--local-layers", "2", "--lr", "1e-12", "--init-from", str(source), "--out", str(grown))
    assert result.returncode == 0, result.stderr
    assert "new weights: head.middle.0.weight, head.middle.0.bias" in result.stdout
    before, after = load_model(source)[0].state_dict(), load_model(grown)[0].state_dict()
    assert load_model(grown)[1].config.local_layers == 2 and load_model(grown)[1].info["init_from"] == str(source)
    for key, value in before.items():
        torch.testing.assert_close(after[key], value, atol=1e-9, rtol=0)  # copied, then barely moved
    card = run_cli("card", str(grown), "--iwae-samples", "2")
    assert card.returncode == 0, card.stderr
    assert f"Started from the weights of `{source}` (fingerprint `{load_model(source)[1].fingerprint}`)" in card.stdout
    assert f"Measured by `bbvae card {grown} --iwae-samples 2`" in card.stdout

    for extra, problem in ((["--local-hidden", "7"], "no place for"), (["--resume"], "--resume")):
        refused = run_cli("train", *local, "--init-from", str(source), "--out", str(tmp_path / "bad"), *extra)
        assert refused.returncode != 0 and problem in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and not (tmp_path / "bad").exists()

    cheaper = tmp_path / "cheaper"
    result = run_cli("train", *local, "--blocks", "0", "--output-kernel", "1", "--lr", "1e-12", "--init-from", str(source),
                     "--init-partial", "--out", str(cheaper))
    assert result.returncode == 0, result.stderr
    assert "new weights: none; dropped: encoder.features.3.0.body.1.weight" in result.stdout
    after = load_model(cheaper)[0].state_dict()
    assert load_model(cheaper)[1].config.blocks == 0 and load_model(cheaper)[1].info["init_partial"]
    last = "decoder.features.7.weight"
    assert before[last].shape[2:] == (3, 3) and after[last].shape[2:] == (1, 1)
    torch.testing.assert_close(after[last], before[last].sum(dim=(2, 3), keepdim=True), atol=1e-9, rtol=0)
    for key, value in after.items():
        if key != last:
            torch.testing.assert_close(value, before[key], atol=1e-9, rtol=0)  # copied, then barely moved
    refused = run_cli("train", *local, "--init-partial", "--out", str(tmp_path / "bad"))
    assert refused.returncode != 0 and "needs --init-from" in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not (tmp_path / "bad").exists()
