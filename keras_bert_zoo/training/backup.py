"""BackupAndRestore that resumes a killed run at the batch where its last backup was taken.

Keras 3's own `BackupAndRestore(save_freq=N)` writes mid-epoch backups but, on restart, only sets the
epoch: the interrupted epoch starts again from its first batch with the weights of its middle, so
the batches before the backup are trained on twice. It also keeps neither the dropout RNG nor the
epoch's running metrics, writes weights and metadata non-atomically (a kill between the two pairs
the weights of one step with the position of another), and records epoch 0 for backups taken in the
first epoch after a restart.
"""

import io
import json
import warnings
import zipfile

import keras
import numpy as np
import tensorflow as tf

_METADATA = "training_metadata.json"


def replayable_epochs(make_dataset, epochs, seed=0):
    """One dataset of `epochs` passes whose order a restarted process reproduces exactly.

    `make_dataset(seed)` builds one pass over the training data shuffled with `seed`, e.g.
    `lambda s: classification_dataset(train, preprocessor, 32, labels, shuffle=True, seed=s)`. Pass
    e is a fresh dataset built with a seed derived from `(seed, e)` and iterated once, so its order
    depends on nothing but those two numbers; `ds.shuffle(..., reshuffle_each_iteration=True)` on
    its own orders epoch e by how often the dataset was iterated in this process, which a restart
    resets. Give `model.fit` `steps_per_epoch` (the batches of one pass) and
    `ResumableBackupAndRestore(..., dataset_spans_epochs=True)`.

    Example:
    >>> ds = replayable_epochs(lambda s: tf.data.Dataset.range(4).shuffle(4, seed=s).batch(2), epochs=3)
    >>> int(ds.cardinality())
    6
    >>> [b.numpy().tolist() for b in ds] == [b.numpy().tolist() for b in replayable_epochs(
    ...     lambda s: tf.data.Dataset.range(4).shuffle(4, seed=s).batch(2), epochs=3)]
    True
    """
    passes = [make_dataset(int(np.random.SeedSequence([seed, e]).generate_state(1)[0])) for e in range(epochs)]
    ds = passes[0]
    for other in passes[1:]:
        ds = ds.concatenate(other)
    return ds


def _seed_generator_states(model):
    """The state variables of the model's SeedGenerators (dropout masks); `load_weights` skips them."""
    return [v for v in model.variables if v.name == "seed_generator_state"]


def _metric_variables(model):
    return [v for metric in model.metrics for v in metric.variables]


class ResumableBackupAndRestore(keras.callbacks.BackupAndRestore):
    """Backs up the whole training state and resumes exactly where the last backup was taken.

    A backup holds the model weights, the optimizer state (step counter, moments, loss scale), the
    dropout RNG state, the epoch's running metrics and the position (epoch, batches done in it).
    Restarting the same command restores all of it and fast-forwards the input pipeline past the
    batches already trained on, without training on them, so the batches and callbacks line up with
    an uninterrupted run. Backups are written to new files and committed by atomically replacing
    `training_metadata.json`; a kill at any moment leaves the previous backup usable, and the
    previous one is kept as a fallback if the newest cannot be read.

    Args:
        backup_dir: where the backups live; used by this callback only.
        save_freq: `"epoch"`, or an int N to back up every N batches as well (plus each epoch's end).
        dataset_spans_epochs: the training dataset is one stream over all epochs, given to `fit` with
            `steps_per_epoch` (`replayable_epochs`). The restart then skips
            `epoch * steps_per_epoch + batch` batches of it. With False, Keras starts the dataset
            again each epoch and the restart skips `batch` batches of the interrupted epoch.
        delete_checkpoint: delete the backups when `fit` ends normally.

    Skipping replays the data exactly only if the dataset yields the same batches in the same order
    after a restart: unshuffled, or shuffled with an order keyed by (seed, epoch) as
    `replayable_epochs` makes it. `ds.shuffle(..., reshuffle_each_iteration=True)` alone orders
    epoch k by how often the dataset was iterated in this process, which a restart resets.

    Under MultiWorkerMirroredStrategy every worker backs up and restores its own copy of the (same)
    state: give each worker a backup_dir of its own (e.g. suffixed with its task index).
    """

    def __init__(self, backup_dir, save_freq="epoch", dataset_spans_epochs=False, delete_checkpoint=True):
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=delete_checkpoint)
        self.dataset_spans_epochs = dataset_spans_epochs
        self._every_n_batches = save_freq != "epoch" and save_freq is not False and save_freq > 0
        self.resumed_from = None  # (epoch, batch, optimizer iterations) of the backup restored, if any
        self._metadata_path = tf.io.gfile.join(backup_dir, _METADATA)
        self._restored_metrics = None
        self._backup_steps = None
        self._resume_epoch, self._resume_batch = 0, 0
        self._batches_done = 0
        self._batches_since_save = 0
        self._skipping = False

    # --- restore -------------------------------------------------------------------------------

    def _read_metadata(self):
        if not tf.io.gfile.exists(self._metadata_path):
            return None
        with tf.io.gfile.GFile(self._metadata_path, "r") as f:
            return json.loads(f.read())

    def on_train_begin(self, logs=None):
        self._resume_epoch, self._resume_batch, self._restored_metrics = 0, 0, None
        self._batches_done = self._batches_since_save = 0
        self._skipping = False
        self.resumed_from = None
        metadata = self._read_metadata()
        if metadata is None:
            self._current_epoch = 0
            return
        if "backups" not in metadata:  # written by keras.callbacks.BackupAndRestore
            super().on_train_begin(logs)
            self._resume_epoch = self._current_epoch = self.model._initial_epoch or 0
            return
        if not self.model.built:
            raise ValueError("ResumableBackupAndRestore needs a built model; call it on a batch before fit().")
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        errors = []
        for backup in metadata["backups"]:  # newest first
            try:
                self._restore(backup)
                break
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:  # unreadable: try the previous
                errors.append(error)
        else:
            raise OSError(f"No backup in {self.backup_dir} could be read: {errors}")
        steps = self.params.get("steps")
        if steps and self._backup_steps not in (None, steps):
            warnings.warn(f"The backup in {self.backup_dir} was taken with {self._backup_steps} steps per epoch, "
                          f"this run has {steps}; the restored position will not match the data.")
        self.model._initial_epoch = self._resume_epoch
        self._current_epoch = self._resume_epoch
        skip_epochs = self._resume_epoch * steps if self.dataset_spans_epochs and steps else 0
        if self._resume_batch or skip_epochs:
            self._skip_batches(skip_epochs, self._resume_batch)

    def _restore(self, backup):
        self.model.load_weights(tf.io.gfile.join(self.backup_dir, backup["weights"]))
        with tf.io.gfile.GFile(tf.io.gfile.join(self.backup_dir, backup["state"]), "rb") as f:
            state = dict(np.load(io.BytesIO(f.read())))
        seeds = _seed_generator_states(self.model)
        if len(seeds) == int(state["num_seed_states"]):
            for i, variable in enumerate(seeds):
                variable.assign(state[f"seed_{i}"])
        else:
            warnings.warn("The model's dropout RNGs differ from the backup's; they start afresh.")
        metrics = [state[f"metric_{i}"] for i in range(int(state["num_metric_variables"]))]
        self._restored_metrics = metrics if backup["batch"] else None
        self._resume_epoch, self._resume_batch = backup["epoch"], backup["batch"]
        self._backup_steps = backup.get("steps_per_epoch")
        self.resumed_from = (backup["epoch"], backup["batch"], backup.get("iterations"))

    def _skip_batches(self, whole_epoch_batches, epoch_batches):
        """Makes the first calls of the train function consume batches without training on them."""
        model = self.model
        train_function = model.train_function
        per_call = model.steps_per_execution
        calls = -(-epoch_batches // per_call)  # the fit loop's steps before the restored batch
        self._skipping = calls > 0

        def skipping_train_function(iterator):
            nonlocal whole_epoch_batches, calls
            for _ in range(whole_epoch_batches):
                next(iterator)
            whole_epoch_batches = 0
            if calls == 0:
                model.train_function = train_function
                return train_function(iterator)
            calls -= 1
            for _ in range(per_call):
                next(iterator)
            if calls == 0:
                model.train_function = train_function
            return model.get_metrics_result()

        model.train_function = skipping_train_function

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch
        self._batches_done = 0
        if epoch == self._resume_epoch and self._restored_metrics is not None:
            # fit resets the metrics before each epoch; give back the interrupted epoch's running values.
            variables = _metric_variables(self.model)
            if len(variables) == len(self._restored_metrics):
                for variable, value in zip(variables, self._restored_metrics):
                    variable.assign(value)
            self._restored_metrics = None

    # --- back up -------------------------------------------------------------------------------

    def on_train_batch_end(self, batch, logs=None):
        done = batch + 1
        if self._skipping:  # a batch consumed to catch up with the backup, not trained on
            self._skipping = done < self._resume_batch
            self._batches_done = done
            return
        self._batches_since_save += done - self._batches_done
        self._batches_done = done
        if self._every_n_batches and self._batches_since_save >= self.save_freq:
            self._save_model()

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._batches_done = 0
        if self.save_freq is not False:  # False: backups only on preemption, as in Keras
            self._save_model()

    def _save_model(self):
        self._batches_since_save = 0
        tf.io.gfile.makedirs(self.backup_dir)
        metadata = self._read_metadata() or {}
        previous = metadata.get("backups", [])
        number = previous[0]["number"] + 1 if previous else 0
        name = f"backup-{number}"
        self.model.save_weights(tf.io.gfile.join(self.backup_dir, f"{name}.weights.h5"), overwrite=True)
        seeds = _seed_generator_states(self.model)
        metrics = _metric_variables(self.model)
        state = {"num_seed_states": len(seeds), "num_metric_variables": len(metrics)}
        state.update({f"seed_{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(seeds)})
        state.update({f"metric_{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(metrics)})
        buffer = io.BytesIO()
        np.savez(buffer, **state)
        with tf.io.gfile.GFile(tf.io.gfile.join(self.backup_dir, f"{name}.state.npz"), "wb") as f:
            f.write(buffer.getvalue())
        optimizer = self.model.optimizer
        backup = {
            "number": number,
            "epoch": self._current_epoch,
            "batch": self._batches_done,
            "iterations": int(keras.ops.convert_to_numpy(optimizer.iterations)) if optimizer is not None else None,
            "steps_per_epoch": self.params.get("steps"),
            "weights": f"{name}.weights.h5",
            "state": f"{name}.state.npz",
        }
        backups = [backup] + previous[:1]
        # The commit: until this rename the previous metadata (and its files) stay the current backup.
        temporary = self._metadata_path + ".tmp"
        with tf.io.gfile.GFile(temporary, "w") as f:
            f.write(json.dumps({"epoch": backup["epoch"], "batch": backup["batch"], "backups": backups}))
        tf.io.gfile.rename(temporary, self._metadata_path, overwrite=True)
        keep = {b[key] for b in backups for key in ("weights", "state")} | {_METADATA}
        for file in tf.io.gfile.listdir(self.backup_dir):
            if file.startswith("backup-") and file not in keep:
                tf.io.gfile.remove(tf.io.gfile.join(self.backup_dir, file))

    def on_train_end(self, logs=None):
        self.model._initial_epoch = None  # a later fit() on this model starts from its own initial_epoch
        if self.delete_checkpoint and tf.io.gfile.exists(self.backup_dir):
            tf.io.gfile.rmtree(self.backup_dir)
