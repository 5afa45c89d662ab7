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
import os
import re
import warnings
import zipfile

import keras
import numpy as np
import tensorflow as tf

from keras_bert_zoo import compat

_METADATA = "training_metadata.json"  # keras.callbacks.BackupAndRestore's
_FILE = re.compile(r"backup-(\d+)\.")  # backup-N.weights.h5, backup-N.state.npz, backup-N.json (its commit)
# What reading a damaged or missing backup file raises.
_READ_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, tf.errors.OpError)


def replayable_epochs(make_dataset, epochs, seed=0):
    """One dataset of `epochs` passes whose order a restarted process reproduces exactly.

    `make_dataset(seed)` builds one pass over the training data shuffled with `seed`, e.g.
    `lambda s: classification_dataset(train, preprocessor, 32, label_names=labels, shuffle=True, seed=s)`. Pass
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


def _fsync(path):
    """Flushes a local file or folder to disk; remote file systems (gs://...) commit files on close."""
    if "://" in os.fspath(path):
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ResumableBackupAndRestore(keras.callbacks.BackupAndRestore):
    """Backs up the whole training state and resumes exactly where the last backup was taken.

    A backup holds the model weights, the optimizer state (step counter, moments, loss scale), the
    dropout RNG state, the epoch's running metrics (compiled ones included), the position (epoch,
    batches done in it) and the best score of the `checkpoints` given. Restarting the same command
    restores all of it and fast-forwards the input pipeline past the batches already trained on,
    without training on them, so the batches and callbacks line up with an uninterrupted run.

    Backup N is `backup-N.weights.h5`, `backup-N.state.npz` and `backup-N.json`, which describes it
    and is written last, atomically, once the other two are on disk (fsynced): it is the commit. The
    previous backup is kept too, and a restart falls back to it when any file of the newest is
    missing or damaged, so a kill at any moment, even in the middle of a backup, loses at most the
    batches since the last committed one.

    Args:
        backup_dir: where the backups live; used by this callback only.
        save_freq: `"epoch"`, or an int N to back up every N batches as well (plus each epoch's end).
        dataset_spans_epochs: the training dataset is one stream over all epochs, given to `fit` with
            `steps_per_epoch` (`replayable_epochs`). The restart then skips
            `epoch * steps_per_epoch + batch` batches of it. With False, Keras starts the dataset
            again each epoch and the restart skips `batch` batches of the interrupted epoch.
        delete_checkpoint: delete the backups when `fit` ends normally. With False, a restart after
            `fit` ended restores the final state and trains no more (`runs.finish` deletes them).
        checkpoints: callbacks with a `monitor` and a `best` score (`Checkpoints`, `ModelCheckpoint`) that the
            backups keep, so that a resumed run replaces the best model only with a better one. Put
            this callback after them in the callbacks list, so an epoch's backup sees its score.
        verbose: print where training resumes.

    Skipping replays the data exactly only if the dataset yields the same batches in the same order
    after a restart: unshuffled, or shuffled with an order keyed by (seed, epoch) as
    `replayable_epochs` makes it. `ds.shuffle(..., reshuffle_each_iteration=True)` alone orders
    epoch k by how often the dataset was iterated in this process, which a restart resets.

    Under MultiWorkerMirroredStrategy every worker backs up and restores its own copy of the (same)
    state: give each worker a backup_dir of its own (e.g. suffixed with its task index).
    """

    def __init__(self, backup_dir, save_freq="epoch", dataset_spans_epochs=False, delete_checkpoint=True,
                 checkpoints=(), verbose=0):
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=delete_checkpoint)
        self.dataset_spans_epochs = dataset_spans_epochs
        self.checkpoints = list(checkpoints)
        self.verbose = verbose
        self._every_n_batches = save_freq != "epoch" and save_freq is not False and save_freq > 0
        self.resumed_from = None  # (epoch, batch, optimizer iterations) of the backup restored, if any
        self._metadata_path = tf.io.gfile.join(backup_dir, _METADATA)
        self._restored_metrics = None
        self._backup_steps = None
        self._last_good = None  # the newest backup known whole: restored or committed by this process
        self._resume_epoch, self._resume_batch = 0, 0
        self._batches_done = 0
        self._batches_since_save = 0
        self._skipping = False

    # --- restore -------------------------------------------------------------------------------

    def _numbers(self, committed=True):
        """The numbers of the backups in backup_dir, newest first: the committed ones, or any with a file."""
        if not tf.io.gfile.isdir(self.backup_dir):
            return []
        matches = [_FILE.match(file) for file in tf.io.gfile.listdir(self.backup_dir)]
        return sorted({int(m.group(1)) for m in matches if m and (m.string.endswith(".json") or not committed)},
                      reverse=True)

    def on_train_begin(self, logs=None):
        self._resume_epoch, self._resume_batch, self._restored_metrics = 0, 0, None
        self._batches_done = self._batches_since_save = 0
        self._skipping = False
        self.resumed_from = self._last_good = None
        numbers = self._numbers()
        if not numbers:
            self._current_epoch = 0
            if tf.io.gfile.exists(self._metadata_path):  # written by keras.callbacks.BackupAndRestore
                super().on_train_begin(logs)
                self._resume_epoch = self._current_epoch = compat.initial_epoch_of(self.model) or 0
            return
        if not self.model.built:
            raise ValueError("ResumableBackupAndRestore needs a built model; call it on a batch before fit().")
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        errors = []
        for number in numbers:
            try:
                self._restore(number)
                break
            except _READ_ERRORS as error:  # damaged or missing file: try the previous backup
                errors.append(f"backup-{number}: {error!r}")
        else:
            raise OSError(f"No backup in {self.backup_dir} could be read: {errors}")
        if errors:
            warnings.warn(f"Skipped unreadable backups in {self.backup_dir}: {errors}")
        steps = self.params.get("steps")
        if steps and self._backup_steps not in (None, steps):
            warnings.warn(f"The backup in {self.backup_dir} was taken with {self._backup_steps} steps per epoch, "
                          f"this run has {steps}; the restored position will not match the data.")
        self._current_epoch = self._resume_epoch
        compat.set_initial_epoch(self.model, self._resume_epoch)
        finished = self._resume_epoch >= self.params.get("epochs", float("inf"))
        if self.verbose:
            print(f"training had finished: restored its final state from the backup ({self.backup_dir})" if finished
                  else f"resumed from the backup at epoch {self._resume_epoch + 1}, batch {self._resume_batch} "
                       f"({self.backup_dir})", flush=True)
        skip_epochs = self._resume_epoch * steps if self.dataset_spans_epochs and steps else 0
        if not finished and (self._resume_batch or skip_epochs):
            self._skip_batches(skip_epochs, self._resume_batch)

    def _restore(self, number):
        """Restores backup `number`, or raises one of _READ_ERRORS if one of its files is missing or damaged."""
        name = tf.io.gfile.join(self.backup_dir, f"backup-{number}")
        with tf.io.gfile.GFile(f"{name}.json", "r") as f:
            backup = json.loads(f.read())
        with tf.io.gfile.GFile(f"{name}.state.npz", "rb") as f:
            state = dict(np.load(io.BytesIO(f.read())))
        metrics = [state[f"metric_{i}"] for i in range(int(state["num_metric_variables"]))]
        seeds = [state[f"seed_{i}"] for i in range(int(state["num_seed_states"]))]
        self.model.load_weights(f"{name}.weights.h5")  # the last read: it changes the model
        variables = _seed_generator_states(self.model)
        if len(variables) == len(seeds):
            for variable, value in zip(variables, seeds):
                variable.assign(value)
        else:
            warnings.warn("The model's dropout RNGs differ from the backup's; they start afresh.")
        for checkpoint, saved in zip(self.checkpoints, backup.get("checkpoints", [])):
            if saved["monitor"] == checkpoint.monitor:
                checkpoint.best = saved["best"]
        self._restored_metrics = metrics if backup["batch"] else None
        self._resume_epoch, self._resume_batch = backup["epoch"], backup["batch"]
        self._backup_steps = backup.get("steps_per_epoch")
        self._last_good = number
        self.resumed_from = (backup["epoch"], backup["batch"], backup.get("iterations"))

    def _restore_metrics(self, data_batch):
        """Gives the interrupted epoch its running metrics back (fit reset them at the epoch's start)."""
        if len(_metric_variables(self.model)) != len(self._restored_metrics):
            # Compiled metrics are built by the first trained batch, which a restart skips: build them now.
            compat.build_compiled_metrics(self.model, data_batch)
        variables = _metric_variables(self.model)
        if len(variables) == len(self._restored_metrics):
            for variable, value in zip(variables, self._restored_metrics):
                variable.assign(value)
        else:
            warnings.warn("The model's metrics differ from the backup's; the interrupted epoch's start afresh.")
        self._restored_metrics = None

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
            batches = [next(iterator) for _ in range(per_call)]
            if self._restored_metrics is not None:
                self._restore_metrics(batches[0])
            if calls == 0:
                model.train_function = train_function
            return model.get_metrics_result()

        model.train_function = skipping_train_function

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch
        self._batches_done = 0

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
        number = max(self._numbers(committed=False), default=-1) + 1  # never reuses a damaged backup's files
        name = tf.io.gfile.join(self.backup_dir, f"backup-{number}")
        self.model.save_weights(f"{name}.weights.h5", overwrite=True)
        seeds = _seed_generator_states(self.model)
        metrics = _metric_variables(self.model)
        state = {"num_seed_states": len(seeds), "num_metric_variables": len(metrics)}
        state.update({f"seed_{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(seeds)})
        state.update({f"metric_{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(metrics)})
        buffer = io.BytesIO()
        np.savez(buffer, **state)
        with tf.io.gfile.GFile(f"{name}.state.npz", "wb") as f:
            f.write(buffer.getvalue())
        optimizer = self.model.optimizer
        self._commit(number, {
            "epoch": self._current_epoch,
            "batch": self._batches_done,
            "iterations": int(keras.ops.convert_to_numpy(optimizer.iterations)) if optimizer is not None else None,
            "steps_per_epoch": self.params.get("steps"),
            "checkpoints": [{"monitor": c.monitor, "best": None if c.best is None else float(c.best)}
                            for c in self.checkpoints],
        })

    def _commit(self, number, description):
        """Makes backup `number` the one a restart uses, once its files are on disk; deletes older ones."""
        name = tf.io.gfile.join(self.backup_dir, f"backup-{number}")
        _fsync(f"{name}.weights.h5")
        _fsync(f"{name}.state.npz")
        with tf.io.gfile.GFile(f"{name}.json.tmp", "w") as f:
            f.write(json.dumps(description))
        _fsync(f"{name}.json.tmp")
        tf.io.gfile.rename(f"{name}.json.tmp", f"{name}.json", overwrite=True)
        _fsync(self.backup_dir)
        keep = {number, self._last_good}
        self._last_good = number
        for file in tf.io.gfile.listdir(self.backup_dir):
            match = _FILE.match(file)
            if match and int(match.group(1)) not in keep:
                tf.io.gfile.remove(tf.io.gfile.join(self.backup_dir, file))

    def on_train_end(self, logs=None):
        compat.set_initial_epoch(self.model, None)  # a later fit() on this model starts from its own initial_epoch
        if self.delete_checkpoint and tf.io.gfile.exists(self.backup_dir):
            tf.io.gfile.rmtree(self.backup_dir)
