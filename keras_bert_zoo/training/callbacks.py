"""The callbacks every training run gets: progress, TensorBoard, checkpoints, fault tolerance."""

from pathlib import Path

import keras

from keras_bert_zoo.training.backup import ResumableBackupAndRestore


class LearningRateLogger(keras.callbacks.Callback):
    """Adds the optimizer's current learning rate to the logs, so TensorBoard plots it."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


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
    checkpoints = [keras.callbacks.ModelCheckpoint(str(model_dir / "last.keras"))]
    if monitor.startswith("val_"):
        checkpoints.append(keras.callbacks.ModelCheckpoint(
            str(model_dir / "best.keras"), monitor=monitor, mode=mode, save_best_only=True))
    return [
        LearningRateLogger(),
        keras.callbacks.TensorBoard(log_dir=str(model_dir / "tensorboard")),
        *checkpoints,
        ResumableBackupAndRestore(str(model_dir / "backup"), save_freq=backup_save_freq,
                                  dataset_spans_epochs=dataset_spans_epochs, delete_checkpoint=not keep_backup,
                                  checkpoints=checkpoints[1:], verbose=1),
    ]
