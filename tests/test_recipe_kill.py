"""Kill -9 a real recipe process anywhere, run the same command again: it resumes, completes and says so.

Each recipe runs with its real compile (metrics included) on tiny settings, is SIGKILLed by
tests/kill_launcher.py at a chosen point, and is then started again with the same command line.
"""

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from keras_bert_zoo.training import runs

ROOT = Path(__file__).parents[1]
LAUNCHER = ROOT / "tests" / "kill_launcher.py"
TIMEOUT = 300  # seconds one run may take on 2 busy cores
TINY = ["--checkpoint", "bert_tiny_uncased", "--random-init",
        "--max-train-examples", "128", "--batch-size", "32",  # 4 batches
        "--sequence-length", "32", "--backup-every", "2"]
RECIPES = {  # recipe: (its flags on top of TINY, the line with its final metric)
    "classify.py": ([], r"dev accuracy: \d\.\d{4}"),
    "ner.py": (["--max-test-examples", "32"], r"test entity F1: \d\.\d{4}"),
    "squad.py": (["--max-train-examples", "16", "--epochs", "1", "--sequence-length", "64", "--max-query-length", "16",
                  "--doc-stride", "24", "--null-score-threshold", "inf", "--export-threshold", "flag",
                  "--max-eval-examples", "40"],
                 r"XQuAD-English F1: \d+\.\d\d"),
    "pretrain.py": (["--epochs", "1", "--max-predictions-per-seq", "5", "--dupe-factor", "1"],
                    r"MLM accuracy: \d\.\d{4}  NSP accuracy: \d\.\d{4}"),
    "multiple_choice.py": ([], r"dev accuracy: \d\.\d{4}"),
    "pretrain_electra.py": (["--checkpoint", "electra_small_discriminator", "--num-layers", "1", "--hidden-dim", "32",
                             "--epochs", "1", "--max-predictions-per-seq", "5", "--dupe-factor", "1"],
                            r"held-out: generator MLM loss \d+\.\d{4}, discriminator RTD loss \d\.\d{4}"),
    "summarize_extractive.py": (["--sequence-length", "64", "--epochs", "1", "--dev-size", "16", "--test-size", "16"],
                                r"  oracle: ROUGE-1 \d\.\d{4}  ROUGE-2 \d\.\d{4}  ROUGE-L \d\.\d{4}"),
    "translate.py": (["--vocabulary-size", "300", "--num-layers", "1", "--hidden-dim", "32", "--num-heads", "2",
                      "--intermediate-dim", "64", "--target-length", "16", "--max-test-examples", "16",
                      "--epochs", "1"],
                     r"test BLEU: \d+\.\d\d"),
}
NO_CHECKPOINT = {"translate.py"}  # a new model with its own vocabulary: it takes no --checkpoint


def _command(recipe, tmp_path, kill_at=None):
    flags, _ = RECIPES[recipe]
    launcher = [str(LAUNCHER), kill_at] if kill_at else []
    tiny = TINY[3:] if recipe in NO_CHECKPOINT else TINY
    return [sys.executable, *launcher, str(ROOT / "recipes" / recipe), *tiny, *flags,
            "--model-dir", str(tmp_path / "run"), "--export-dir", str(tmp_path / "export")]


def _run(command, **kwargs):
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT, check=False, **kwargs)


def _killed(command):
    """Runs a kill_launcher command, checking it was killed; returns the finished process."""
    process = _run(command)
    assert process.returncode == -signal.SIGKILL, process.stderr[-3000:]
    return process


def _completed(command, metric):
    """Runs a recipe command to its end; returns its output lines, checking it printed its metric."""
    process = _run(command)
    assert process.returncode == 0, process.stderr[-3000:]
    lines = process.stdout.splitlines()
    assert re.fullmatch(metric, lines[-1]), lines[-5:]
    return lines


def _resumed_line(lines, run_dir, batch):
    """Checks the run says where it resumed before it reports any training."""
    expected = f"resumed from the backup at epoch 1, batch {batch} ({run_dir / 'backup'})"
    assert expected in lines, lines[:10]
    first_training = next(i for i, line in enumerate(lines) if " - loss: " in line)
    assert lines.index(expected) < first_training


def _weights(keras_file):
    """{path: array} of the weights in a .keras file."""
    arrays = {}
    with zipfile.ZipFile(keras_file) as archive, archive.open("model.weights.h5") as f, h5py.File(f) as h5:
        h5.visititems(lambda name, item: arrays.setdefault(name, item[()]) if isinstance(item, h5py.Dataset) else None)
    return arrays


@pytest.fixture(scope="module")
def killed_runs(tmp_path_factory):
    """{recipe: (tmp_path, process)}: every recipe but classify, started at once and killed after its first backup.

    They run while the tests restart them one by one, which keeps both cores busy."""
    started = {}
    for recipe in RECIPES:
        if recipe != "classify.py":
            tmp_path = tmp_path_factory.mktemp(recipe.removesuffix(".py"))
            started[recipe] = tmp_path, subprocess.Popen(_command(recipe, tmp_path, "backup:1"), cwd=ROOT, text=True,
                                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    yield started
    for _, process in started.values():
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("recipe", [name for name in RECIPES if name != "classify.py"])
def test_recipe_killed_after_a_backup_resumes_there_with_its_metrics(recipe, killed_runs, run_recipe):
    """Killed right after its first backup (batch 2, metrics compiled), the same command resumes and completes.

    The restart runs in this process (as `run_recipe` does), which saves a Python and TensorFlow start."""
    tmp_path, killed = killed_runs[recipe]
    _, err = killed.communicate(timeout=TIMEOUT)
    assert killed.returncode == -signal.SIGKILL, err[-3000:]
    _, recipe_path, *flags = _command(recipe, tmp_path)
    lines = run_recipe(recipe_path, *flags)
    assert re.fullmatch(RECIPES[recipe][1], lines[-1]), lines[-5:]
    _resumed_line(lines, tmp_path / "run", batch=2)
    assert not (tmp_path / "run" / "backup").exists()


@pytest.mark.slow
def test_classify_killed_in_a_save_and_after_fit_ends_like_an_uninterrupted_run(tmp_path):
    reference = subprocess.Popen(_command("classify.py", tmp_path / "reference"), cwd=ROOT, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        run_dir, metric = tmp_path / "run", RECIPES["classify.py"][1]
        # 1. Killed in its second backup (batch 4 of 4), between writing the files and the commit.
        _killed(_command("classify.py", tmp_path, "mid-save:2"))
        assert sorted(path.name for path in (run_dir / "backup").glob("backup-*.json")) == ["backup-0.json"]
        assert "kill_launcher.py mid-save:2" in (run_dir / runs.LOCK).read_text()  # the dead run's lock
        # 2. Resumed at batch 2, the last committed backup, and killed when fit returns, before the outputs.
        process = _killed(_command("classify.py", tmp_path, "after-fit"))
        _resumed_line(process.stdout.splitlines(), run_dir, batch=2)
        assert not (run_dir / runs.RUN_INFO).exists()
        # 3. Restarted, it trains no more and writes the outputs.
        lines = _completed(_command("classify.py", tmp_path), metric)
        assert lines[0].startswith("weights: ") and lines[1].startswith("data: ")  # the weights, the data,
        assert lines[2].startswith("training: ")  # then where the run stands
        assert lines[3] == f"training had finished: restored its final state from the backup ({run_dir / 'backup'})"
        assert not any(" - loss: " in line for line in lines)
        out, err = reference.communicate(timeout=TIMEOUT)
        assert reference.returncode == 0, err[-3000:]
    finally:
        if reference.poll() is None:
            reference.kill()
            reference.wait()
    assert lines[-1] == out.splitlines()[-1]  # the same dev accuracy
    assert not (run_dir / "backup").exists() and (run_dir / runs.RUN_INFO).is_file()
    got, expected = _weights(run_dir / "last.keras"), _weights(tmp_path / "reference" / "run" / "last.keras")
    assert got.keys() == expected.keys()
    assert max(float(np.abs(got[k] - expected[k]).max()) for k in expected) <= 1e-6


@pytest.mark.slow
def test_a_second_run_on_a_live_model_dir_is_refused(tmp_path):
    """This process holds the model dir; a recipe started on it stops at once, naming this process."""
    run_dir = tmp_path / "run"
    runs.lock_model_dir(run_dir)
    try:
        second = _run(_command("classify.py", tmp_path))
    finally:
        runs.finish(run_dir)
    assert second.returncode != 0
    assert second.stderr.strip().splitlines()[-1] == (
        f"error: --model-dir {run_dir} is in use by another run (pid {os.getpid()} on {socket.gethostname()}: "
        f"{shlex.join(sys.orig_argv)}). Wait for it to end or pick another --model-dir.")
    runs.lock_model_dir(run_dir)  # finish released it
    runs.finish(run_dir)
