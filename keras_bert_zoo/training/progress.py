"""Progress lines for logs: what `runs.fit` prints when stdout is not a terminal (nohup, `| tee`, CI).

Keras' progress bar redraws one line, which a log file cannot show, and its `verbose=2` prints one
line per epoch: nothing for the whole of a long epoch. `ProgressLogger` prints a line about every
`interval` seconds instead, and one at each epoch's end:

    step 120/250 (epoch 1/1) loss 0.4123 accuracy 0.8100 - 3.2 steps/s, 102.4 examples/s - ETA 0:40
    epoch 1/1: 250 steps in 1:18 - loss: 0.3987 - accuracy: 0.8213 - val_loss: 0.4011 - val_accuracy: 0.8257

`model.predict` and `model.evaluate` get a `BatchProgressCallback` (`batch_progress()`):

    evaluating: batch 120/250 - 3.2 batches/s - ETA 0:40
"""

import sys
import time

import keras

from keras_bert_zoo.progress import BatchProgress, Pace, format_duration, is_terminal, progress_interval

__all__ = ["ProgressLogger", "BatchProgressCallback", "batch_progress"]


def _ordered(logs):
    """The logs' numbers: loss, metrics, val_loss, val_ metrics, learning rate (Keras puts loss after metrics)."""
    logs = dict(logs or {})
    rank = {"loss": 0, "val_loss": 2, "learning_rate": 4}
    items = sorted(logs.items(), key=lambda item: rank.get(item[0], 3 if item[0].startswith("val_") else 1))
    return [(name, number) for name, number in ((name, _number(value)) for name, value in items) if number is not None]


def _number(value):
    try:
        return float(keras.ops.convert_to_numpy(value))
    except (TypeError, ValueError):
        return None


class ProgressLogger(keras.callbacks.Callback):
    """Prints a progress line every `interval` seconds of training, and a summary at each epoch's end.

    Steps/s and the ETA count the steps trained since `fit` started (after the first one, which also
    compiles, once there are more); a run resumed from a backup counts from the position it resumed at:
    `resumed_from()` returns `(epoch, batch, ...)` or None, e.g. a `ResumableBackupAndRestore`'s
    `resumed_from`, read at train begin (put this callback after it).

    Args:
        interval: seconds between progress lines (default: `progress_interval()`).
        batch_size: adds examples/s to the lines.
        clock: returns seconds (monotonic); tests inject a fake one.
        resumed_from: callable, see above.
        print_fn: where the lines go (default: print to stdout, flushed: log files see them at once).
    """

    def __init__(self, interval=None, batch_size=None, clock=time.monotonic, resumed_from=None, print_fn=None):
        super().__init__()
        self.interval = progress_interval(interval)
        self.batch_size = batch_size
        self.clock = clock
        self.resumed_from = resumed_from
        self.print_fn = print_fn or (lambda line: print(line, file=sys.stdout, flush=True))

    def on_train_begin(self, logs=None):
        self._steps = self.params.get("steps") or 0
        self._epochs = self.params.get("epochs") or 1
        resumed = self.resumed_from() if self.resumed_from else None
        self._start_step = resumed[0] * self._steps + resumed[1] if resumed else 0
        self._pace = Pace(self.interval, self.clock, count=self._start_step)
        self._epoch_start = self._pace.last_line
        self._epoch = 0
        self._epoch_start_step = self._start_step

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = self.clock()
        self._epoch_start_step = max(self._start_step, epoch * self._steps)

    def on_train_batch_end(self, batch, logs=None):
        step = self._epoch * self._steps + batch + 1  # over all epochs
        if step <= self._start_step:  # batches a resumed run skips to reach its backup's position
            return
        due = self._pace.tick(step)  # steps/s since fit started (or resumed), as `Pace` counts them
        if due is None:
            return
        rate = due[1]
        line = f"step {batch + 1}/{self._steps or '?'} (epoch {self._epoch + 1}/{self._epochs})"
        for name, number in _ordered(logs):
            line += f" {name} {number:.4f}"
        if rate is not None:
            line += f" - {rate:.1f} steps/s"
            if self.batch_size:
                line += f", {rate * self.batch_size:.1f} examples/s"
            if self._steps:
                line += f" - ETA {format_duration((self._epochs * self._steps - step) / rate)}"
        self.print_fn(line)

    def on_epoch_end(self, epoch, logs=None):
        now = self.clock()
        steps = (epoch + 1) * self._steps - self._epoch_start_step if self._steps else None
        line = f"epoch {epoch + 1}/{self._epochs}: "
        line += f"{steps} steps in {format_duration(now - self._epoch_start)}" if steps is not None else \
            f"{format_duration(now - self._epoch_start)}"
        for name, number in _ordered(logs):
            line += f" - {name}: {number:.4g}" if name == "learning_rate" else f" - {name}: {number:.4f}"
        self.print_fn(line)
        self._pace.last_line = now  # the summary counts as a line: the next one comes an interval later


class BatchProgressCallback(keras.callbacks.Callback):
    """A `keras_bert_zoo.progress.BatchProgress` line every `interval` seconds of `predict` or `evaluate`
    called directly: `evaluating: batch 120/250 - 3.2 batches/s - ETA 0:40`. (Inside `fit`, Keras gives
    validation passes the training's `params`, so its total would be wrong there.)

    Args: as `BatchProgress`'s; `what` starts each line.
    """

    def __init__(self, what="evaluating", interval=None, print_fn=None, clock=time.monotonic):
        super().__init__()
        self.what, self.interval, self.print_fn, self.clock = what, interval, print_fn, clock
        self._progress = None

    def _begin(self, logs=None):
        self._progress = BatchProgress(self.params.get("steps"), self.what, self.interval, print_fn=self.print_fn,
                                       clock=self.clock)

    def _batch_end(self, batch, logs=None):
        self._progress.update(batch + 1)

    on_predict_begin = on_test_begin = _begin
    on_predict_batch_end = on_test_batch_end = _batch_end


def batch_progress(what="evaluating", interval=None):
    """Callbacks for `model.predict`/`evaluate`: a `BatchProgressCallback` when stdout is not a terminal,
    else none (`verbose=0` stays quiet there, or Keras' bar shows).

    >>> logits = model.predict(dev_ds, verbose=0, callbacks=batch_progress())  # doctest: +SKIP
    """
    return [] if is_terminal() else [BatchProgressCallback(what, interval)]
