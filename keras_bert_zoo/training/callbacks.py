"""The callbacks every training run gets: progress, TensorBoard, checkpoints, fault tolerance."""

import math
import os
import shutil
from pathlib import Path

import keras

from keras_bert_zoo.training.backup import ResumableBackupAndRestore
from keras_bert_zoo.training.keras_file import save_keras


class LearningRateLogger(keras.callbacks.Callback):
    """Adds the optimizer's current learning rate to the logs, so TensorBoard plots it."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


class Checkpoints(keras.callbacks.Callback):
    """Saves the model as `last.keras` at each epoch's end and, when `monitor` improved, as `best.keras` too.

    Both names hold the same model when the last epoch is the best, so `best.keras` is then a hard link to
    `last.keras`, not a second save (Keras' two `ModelCheckpoint`s each write the whole model with its
    optimizer: 3 s and 270 MB for MiniLM). Each file is written beside its name and renamed into place,
    so a kill never leaves a half-written one, and writing one never changes the other. The weights go to
    disk, not through memory (`save_keras`: Keras' own save held 270 MB more, the job's peak).

    `monitor` (e.g. "val_accuracy") and `best` are read and restored by `ResumableBackupAndRestore`;
    `monitor=None` writes `last.keras` only.

    >>> checkpoints = Checkpoints("runs/x", monitor="val_accuracy", mode="max")  # doctest: +SKIP
    """

    def __init__(self, model_dir, monitor=None, mode="min"):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}.")
        self.model_dir, self.monitor, self.mode = Path(model_dir), monitor, mode
        self.best = None

    def _improved(self, value):
        if value is None or math.isnan(value):
            return False
        return self.best is None or (value > self.best if self.mode == "max" else value < self.best)

    def on_epoch_end(self, epoch, logs=None):
        self.model_dir.mkdir(parents=True, exist_ok=True)
        last, best = self.model_dir / "last.keras", self.model_dir / "best.keras"
        partial = self.model_dir / "last.partial.keras"
        save_keras(self.model, partial)
        os.replace(partial, last)
        value = (logs or {}).get(self.monitor) if self.monitor is not None else None
        value = None if value is None else float(value)
        if self._improved(value):
            self.best = value
            linked = self.model_dir / "best.partial.keras"
            linked.unlink(missing_ok=True)
            try:
                os.link(last, linked)
            except OSError:  # a file system without hard links
                shutil.copyfile(last, linked)
            os.replace(linked, best)


def default_callbacks(model_dir, monitor="val_loss", mode="min", backup_save_freq="epoch",
                      dataset_spans_epochs=False, keep_backup=False):
    """Learning-rate logging, TensorBoard, best and last checkpoints, and BackupAndRestore.

    `model_dir/backup` lets a killed run resume where it stopped when started again with the same
    command; `best.keras` keeps the model with the best `monitor` (when validation data is given).
    The backup is taken at each epoch's end and, with `backup_save_freq=N`, every N batches too.

    What survives a kill (SIGKILL, preemption) at any moment: the weights, the optimizer state (step
    count, hence the learning rate, and Adam's moments), the dropout RNG, the position (epoch and
    batch) and the epoch's running metrics of the last backup. The restarted run skips the batches
    already trained on and continues as the uninterrupted run would (tests/test_resume.py requires
    the final weights within 1e-6 and finds them bit-for-bit equal), provided the data replays in
    the same order: build it with
    `replayable_epochs(lambda s: classification_dataset(..., shuffle=True, seed=s), epochs)`, give
    `fit` `steps_per_epoch` and pass `dataset_spans_epochs=True` here. Only the batches trained
    after the last backup (at most `backup_save_freq`) are lost, and they are trained again. See
    `ResumableBackupAndRestore`. The backup keeps `best.keras`'s best score too, so a resumed run replaces
    it only with a better model; a resumed run prints where it resumed.

    The backup is deleted when `fit` ends, or with `keep_backup=True` left for the caller to delete once
    the run's outputs are written (`runs.finish`): a run killed in between, restarted, trains no more.
    """
    model_dir = Path(model_dir)
    checkpoints = Checkpoints(model_dir, monitor=monitor if monitor.startswith("val_") else None, mode=mode)
    return [
        LearningRateLogger(),
        keras.callbacks.TensorBoard(log_dir=str(model_dir / "tensorboard")),
        checkpoints,
        ResumableBackupAndRestore(str(model_dir / "backup"), save_freq=backup_save_freq,
                                  dataset_spans_epochs=dataset_spans_epochs, delete_checkpoint=not keep_backup,
                                  checkpoints=[checkpoints] if checkpoints.monitor else [], verbose=1),
    ]
