"""Resuming after a kill loses nothing: a run SIGKILLed mid-epoch and started again with the same
command continues from its last backup (position, optimizer state, dropout RNG, data order, running
metrics) and ends with the weights of a run that was never interrupted.

Measured on a 2-core CPU: the final weights and every batch loss after the restart are bit-for-bit
equal to the uninterrupted run's (max abs difference 0); the tests allow 1e-6.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_zoo.data import TextExamples, classification_dataset
from keras_bert_zoo.training import ResumableBackupAndRestore, default_callbacks, replayable_epochs
from keras_bert_zoo.training.callbacks import Checkpoints

WORKER = Path(__file__).parent / "resume_worker.py"
STEPS_PER_EPOCH, EPOCHS = 8, 2  # resume_worker.py's defaults: 32 examples, batches of 4
TIMEOUT = 240  # seconds one run may take on 2 busy cores


def _numbers(texts):
    """A preprocessor for texts "0", "1", ...: token_ids [[0]], [[1]], ..."""
    ids = tf.strings.to_number(texts, tf.int32)[:, None]
    return {"token_ids": ids, "segment_ids": tf.zeros_like(ids), "padding_mask": tf.ones_like(ids)}


def test_replayable_epochs_give_the_same_order_after_a_restart():
    examples = TextExamples([[str(i) for i in range(10)]], [str(i % 2) for i in range(10)])

    def stream(seed=0):
        ds = replayable_epochs(
            lambda s: classification_dataset(examples, _numbers, 4, label_names=["0", "1"], shuffle=True, seed=s),
            3, seed)
        assert int(ds.cardinality()) == 9
        return [x["token_ids"].numpy()[:, 0].tolist() for x, _ in ds]

    batches = stream()
    assert [len(b) for b in batches] == [4, 4, 2] * 3
    epochs = [[i for batch in batches[e:e + 3] for i in batch] for e in (0, 3, 6)]
    assert all(sorted(epoch) == list(range(10)) for epoch in epochs)  # each epoch: every example once
    assert epochs[0] != epochs[1] != epochs[2]  # reshuffled each epoch
    assert stream() == batches  # a new process builds the same stream: nothing depends on iteration state
    assert stream(seed=1) != batches


def _backups(backup_dir):
    """The descriptions of the committed backups (backup-N.json), newest first, each with its "number"."""
    numbers = sorted((int(path.name.split(".")[0].split("-")[1]) for path in Path(backup_dir).glob("backup-*.json")),
                     reverse=True)
    return [{"number": n, **json.loads((Path(backup_dir) / f"backup-{n}.json").read_text())} for n in numbers]


def _files(backup):
    return [f"backup-{backup['number']}.{suffix}" for suffix in ("json", "weights.h5", "state.npz")]


def _small_model(seed=0, steps_per_execution=1):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    x = keras.layers.Dropout(0.3)(keras.layers.Dense(8, activation="relu")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", steps_per_execution=steps_per_execution)
    return model


class _Interrupt(keras.callbacks.Callback):
    """Raises after batch `at` of epoch `epoch`, the way a crash would end fit (no on_train_end)."""

    def __init__(self, epoch, at):
        super().__init__()
        self.stop, self.epoch = (epoch, at), 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) >= self.stop:
            raise KeyboardInterrupt


@pytest.mark.parametrize("steps_per_execution, corrupt_newest, spans, interrupt, positions", [
    # arrays, which Keras iterates afresh each epoch; backups every 3 batches, killed after batch 8 of epoch 1
    (1, False, False, (1, 7), [(1, 6), (1, 3)]),
    # 2 batches a call: backups at 4 and 8; the newest is unreadable, the previous one is used
    (2, True, False, (1, 7), [(1, 8), (1, 4)]),
    # one dataset over all epochs (steps_per_epoch given), killed right after epoch 0's end backup:
    # the restart skips a whole epoch of the stream
    (1, False, True, (1, 1), [(1, 0), (0, 9)]),
])
def test_in_process_resume(tmp_path, steps_per_execution, corrupt_newest, spans, interrupt, positions):
    """Interrupted by an exception instead of a kill: quick checks of the skipping logic."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 4)).astype("float32"), rng.normal(size=(40, 1)).astype("float32")
    if spans:  # each epoch's data differs, so replaying the wrong epoch would show
        stream = tf.data.Dataset.range(3).flat_map(
            lambda e: tf.data.Dataset.from_tensor_slices((x + tf.cast(e, tf.float32), y)).batch(4))
        fit = {"x": stream, "epochs": 3, "steps_per_epoch": 10, "shuffle": False, "verbose": 0}
    else:
        fit = {"x": x, "y": y, "batch_size": 4, "epochs": 3, "shuffle": False, "verbose": 0}  # 10 batches an epoch

    def backup(directory):
        return ResumableBackupAndRestore(directory, save_freq=3, dataset_spans_epochs=spans)

    reference = _small_model(steps_per_execution=steps_per_execution)
    expected = reference.fit(**fit, callbacks=[backup(tmp_path / "reference")])

    model = _small_model(steps_per_execution=steps_per_execution)
    backup_dir = tmp_path / "backup"
    with pytest.raises(KeyboardInterrupt):
        model.fit(**fit, callbacks=[backup(backup_dir), _Interrupt(*interrupt)])
    newest, previous = _backups(backup_dir)
    assert [(b["epoch"], b["batch"]) for b in (newest, previous)] == positions
    assert sorted(p.name for p in backup_dir.iterdir()) == sorted(_files(newest) + _files(previous))
    if corrupt_newest:  # e.g. a disk error: the previous backup is used and replays just as exactly
        (backup_dir / _files(newest)[1]).write_bytes(b"not an h5 file")

    model = _small_model(seed=1, steps_per_execution=steps_per_execution)  # other initial weights and RNG
    callback = backup(backup_dir)
    resumed = model.fit(**fit, callbacks=[callback])
    restored = previous if corrupt_newest else newest
    assert callback.resumed_from == (restored["epoch"], restored["batch"], restored["iterations"])
    assert restored["iterations"] == 10 * restored["epoch"] + restored["batch"]
    for got, want in zip(model.weights, reference.weights):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want), rtol=0, atol=1e-6)
    # The interrupted epoch's loss covers all its batches, as if nothing happened.
    np.testing.assert_allclose(resumed.history["loss"], expected.history["loss"][restored["epoch"]:], rtol=0, atol=1e-6)
    assert not backup_dir.exists()  # deleted when fit ends normally


def _command(model_dir, out):
    # --step-delay slows the run so that the test can kill it mid-epoch; it does not change the numbers.
    return [sys.executable, str(WORKER), "--model-dir", str(model_dir), "--out", str(out), "--step-delay", "0.25"]


def _steps(lines):
    """{optimizer iteration: batch loss} from the worker's "step EPOCH BATCH ITERATIONS LOSS" lines."""
    return {int(line.split()[3]): float(line.split()[4]) for line in lines if line.startswith("step ")}


def _read_lines(process, lines):
    for line in process.stdout:
        lines.append(line.rstrip("\n"))


@pytest.mark.slow
def test_sigkilled_run_resumes_mid_epoch_and_ends_like_an_uninterrupted_run(tmp_path):
    run_dir = tmp_path / "run"
    popen = {"stdout": subprocess.PIPE, "stderr": subprocess.DEVNULL, "text": True, "start_new_session": True}
    reference = subprocess.Popen(_command(tmp_path / "reference", tmp_path / "reference.npz"), **popen)
    victim = subprocess.Popen(_command(run_dir, tmp_path / "run.npz"), **popen)
    processes = [reference, victim]
    try:
        # 1. Kill the run mid-epoch: a backup of epoch 1 exists and two more batches have run since.
        lines = []
        reader = threading.Thread(target=_read_lines, args=(victim, lines), daemon=True)
        reader.start()
        deadline = time.monotonic() + TIMEOUT
        backup = None
        while victim.poll() is None and time.monotonic() < deadline:
            steps = _steps(list(lines))
            backups = _backups(run_dir / "backup") if steps else []  # each written atomically: always whole
            if backups:
                newest = backups[0]
                if newest["epoch"] == 1 and newest["batch"] > 0 and max(steps) >= newest["iterations"] + 2:
                    os.killpg(victim.pid, signal.SIGKILL)
                    break
            time.sleep(0.02)
        assert victim.wait(timeout=30) == -signal.SIGKILL, f"the run was not killed mid-epoch:\n{lines[-5:]}"
        reader.join(timeout=10)
        killed_steps = _steps(lines)
        backup = _backups(run_dir / "backup")[0]  # the backup the restart must use
        epoch, batch, iterations = backup["epoch"], backup["batch"], backup["iterations"]
        assert epoch == 1 and 0 < batch < STEPS_PER_EPOCH and iterations == epoch * STEPS_PER_EPOCH + batch
        assert max(killed_steps) > iterations  # work after the last backup was lost: it must be redone

        # 2. The same command again continues from that backup.
        restart = subprocess.run(_command(run_dir, tmp_path / "run.npz"), capture_output=True, text=True,
                                 timeout=TIMEOUT, check=False)
        assert restart.returncode == 0, restart.stderr[-3000:]
        out, _ = reference.communicate(timeout=TIMEOUT)
        assert reference.returncode == 0
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    restart_lines = restart.stdout.splitlines()
    assert restart_lines[0] == f"resumed from the backup at epoch {epoch + 1}, batch {batch} ({run_dir / 'backup'})"
    assert restart_lines[1] == f"resumed {epoch} {batch} {iterations}"  # position and optimizer step restored
    resumed_steps, reference_steps = _steps(restart_lines), _steps(out.splitlines())
    assert sorted(resumed_steps) == list(range(iterations + 1, EPOCHS * STEPS_PER_EPOCH + 1))  # none skipped/doubled
    assert sorted(reference_steps) == list(range(1, EPOCHS * STEPS_PER_EPOCH + 1))
    # The same batches in the same order with the same weights, optimizer moments, dropout masks and
    # running metrics: every batch loss equals the uninterrupted run's, before and after the kill.
    loss_diff = max(abs(loss - reference_steps[step]) for step, loss in {**killed_steps, **resumed_steps}.items())
    assert loss_diff <= 1e-6
    run, expected = np.load(tmp_path / "run.npz"), np.load(tmp_path / "reference.npz")
    assert set(run.files) == set(expected.files)
    weight_diff = max(float(np.abs(run[k] - expected[k]).max()) for k in expected.files if k != "losses")
    print(f"resumed at epoch {epoch} batch {batch}; "
          f"max |loss diff| {loss_diff:.3g}, max |weight diff| {weight_diff:.3g}")
    assert weight_diff <= 1e-6
    assert not (run_dir / "backup").exists()  # the finished run deleted its backup
    assert tf.io.gfile.exists(str(run_dir / "last.keras"))


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 4)).astype("float32"), rng.normal(size=(40, 1)).astype("float32")  # 10 batches of 4


def test_a_damaged_newest_backup_falls_back_to_the_previous_whatever_file_is_damaged(tmp_path, monkeypatch):
    x, y = _data()
    fit = {"x": x, "y": y, "batch_size": 4, "epochs": 2, "shuffle": False, "verbose": 0}
    reference = _small_model()
    reference.fit(**fit, callbacks=[ResumableBackupAndRestore(tmp_path / "reference", save_freq=3)])
    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.readlink(f"/proc/self/fd/{fd}")))
    interrupted = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        _small_model().fit(**fit, callbacks=[ResumableBackupAndRestore(interrupted, save_freq=3), _Interrupt(1, 7)])
    monkeypatch.undo()
    newest, previous = _backups(interrupted)
    # Each backup's files, then its description, then the folder (the rename) reached the disk before it counted.
    name = str(interrupted / f"backup-{newest['number']}")
    assert synced[-4:] == [f"{name}.weights.h5", f"{name}.state.npz", f"{name}.json.tmp", str(interrupted)]

    def truncate(path):
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    damages = {"weights.h5": truncate, "state.npz": lambda path: path.write_bytes(b""), "json": truncate}
    for suffix, damage in [*damages.items(), ("state.npz", Path.unlink)]:
        backup_dir = tmp_path / f"{suffix}-{damage.__name__}"
        shutil.copytree(interrupted, backup_dir)
        damage(backup_dir / f"backup-{newest['number']}.{suffix}")
        model, callback = _small_model(seed=1), ResumableBackupAndRestore(backup_dir, save_freq=3)
        with pytest.warns(UserWarning, match=f"Skipped unreadable backups .*backup-{newest['number']}"):
            model.fit(**fit, callbacks=[callback])
        assert callback.resumed_from == (previous["epoch"], previous["batch"], previous["iterations"])
        for got, want in zip(model.weights, reference.weights):
            np.testing.assert_allclose(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want), atol=1e-6)


class _Score(keras.callbacks.Callback):
    """Logs a made-up validation score for each epoch, the best in epoch 0."""

    def on_epoch_end(self, epoch, logs=None):
        logs["val_score"] = [1.0, 0.0, 0.5][epoch]


def test_best_checkpoint_keeps_its_best_score_across_a_restart(tmp_path):
    x, y = _data()
    fit = {"x": x, "y": y, "batch_size": 4, "epochs": 3, "shuffle": False, "verbose": 0}

    def callbacks(*extra):
        return [_Score(), *default_callbacks(tmp_path, monitor="val_score", mode="max", backup_save_freq=3), *extra]

    with pytest.raises(KeyboardInterrupt):
        _small_model().fit(**fit, callbacks=callbacks(_Interrupt(1, 4)))  # after epoch 0, the best, was saved
    best = (tmp_path / "best.keras").read_bytes()
    resumed = callbacks()
    _small_model(seed=1).fit(**fit, callbacks=resumed)
    checkpoint = next(c for c in resumed if isinstance(c, Checkpoints))
    assert checkpoint.best == 1.0
    assert (tmp_path / "best.keras").read_bytes() == best  # epochs 1 and 2 scored worse: epoch 0's model stays
