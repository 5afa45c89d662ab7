"""The callbacks every training run gets: progress, TensorBoard, checkpoints, fault tolerance."""

from pathlib import Path

import keras


class LearningRateLogger(keras.callbacks.Callback):
    """Adds the optimizer's current learning rate to the logs, so TensorBoard plots it."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


def default_callbacks(model_dir, monitor="val_loss", mode="min"):
    """Learning-rate logging, TensorBoard, best and last checkpoints, and BackupAndRestore.

    `model_dir/backup` lets a killed run resume where it stopped when started again with the same
    command; `best.keras` keeps the model with the best `monitor` (when validation data is given).
    """
    model_dir = Path(model_dir)
    callbacks = [
        LearningRateLogger(),
        keras.callbacks.TensorBoard(log_dir=str(model_dir / "tensorboard")),
        keras.callbacks.ModelCheckpoint(str(model_dir / "last.keras")),
        keras.callbacks.BackupAndRestore(str(model_dir / "backup")),
    ]
    if monitor.startswith("val_"):
        callbacks.insert(3, keras.callbacks.ModelCheckpoint(
            str(model_dir / "best.keras"), monitor=monitor, mode=mode, save_best_only=True))
    return callbacks
