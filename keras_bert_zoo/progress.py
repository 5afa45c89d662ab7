"""Progress of long work that is not training: phase lines, a heartbeat for opaque calls, batch lines.

Standard library only, so every layer may use it (export, checkpoints, the CLI, `keras_bert_zoo.training`).
`phase` prints a line when some work starts and one when it ends; when the output is not a terminal
(nohup, `| tee`, CI) it also prints a `still ...` line every interval while an opaque call runs:

    exporting a SavedModel to saved_models/sst2...
    still exporting a SavedModel to saved_models/sst2 (0:30)
    exporting a SavedModel to saved_models/sst2: done in 0:41

`BatchProgress` prints a line every interval of a loop over batches, when not a terminal:

    evaluating: batch 120/250 - 3.2 batches/s - ETA 0:40

The interval is $KERAS_BERT_ZOO_PROGRESS_SECONDS, else 30 s (the one training's `ProgressLogger` uses).
"""

import contextlib
import os
import sys
import threading
import time

ENV_INTERVAL = "KERAS_BERT_ZOO_PROGRESS_SECONDS"
DEFAULT_INTERVAL = 30.0
MIN_HEARTBEAT = 1.0  # seconds: an interval of 0 (a line at every training step) must not spin the heartbeat


def progress_interval(interval=None):
    """Seconds between progress lines: `interval`, else $KERAS_BERT_ZOO_PROGRESS_SECONDS, else 30."""
    if interval is not None:
        return float(interval)
    value = os.environ.get(ENV_INTERVAL, "").strip()
    if not value:
        return DEFAULT_INTERVAL
    try:
        return float(value)
    except ValueError:
        raise SystemExit(f"error: ${ENV_INTERVAL} must be a number of seconds, got {value!r}.") from None


def format_duration(seconds):
    """0:40, 12:05, 1:02:03.

    >>> format_duration(725)
    '12:05'
    """
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def is_terminal(stream=None):
    """Whether `stream` (default: stdout, as it is now) is a terminal, where a progress bar can redraw."""
    stream = stream or sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


def _printer(stream):
    """A print function writing flushed lines to `stream` (default: stdout as it is at each call)."""
    return lambda line: print(line, file=stream or sys.stdout, flush=True)


@contextlib.contextmanager
def phase(what, interval=None, heartbeat=True, stream=None, clock=time.monotonic):
    """Prints `what...`, then `what: done in 0:12` (or `what: failed after 0:12`) when the block ends.

    When `stream` (default stdout) is not a terminal and `heartbeat`, a daemon thread prints
    `still what (1:30)` every `interval` seconds (default `progress_interval()`) while the block
    runs: for opaque calls (a conversion, a save). Loops that print their own progress pass
    `heartbeat=False`.

    >>> with phase("counting", interval=60):
    ...     total = sum(range(10))
    counting...
    counting: done in 0:00
    """
    print_line, start = _printer(stream), clock()
    print_line(f"{what}...")
    stop = threading.Event()
    thread = None
    if heartbeat and not is_terminal(stream):
        thread = threading.Thread(target=_heartbeat, args=(what, progress_interval(interval), stop, print_line, clock,
                                                           start), daemon=True)
        thread.start()
    try:
        yield
    except Exception:  # not SystemExit (an error message says it all) nor KeyboardInterrupt
        print_line(f"{what}: failed after {format_duration(clock() - start)}")
        raise
    finally:
        stop.set()
        if thread is not None:
            thread.join()
    print_line(f"{what}: done in {format_duration(clock() - start)}")


def _heartbeat(what, interval, stop, print_line, clock, start):
    while not stop.wait(max(interval, MIN_HEARTBEAT)):
        print_line(f"still {what} ({format_duration(clock() - start)})")


class Pace:
    """When a progress line is due (at most one every `interval` seconds), and the items/s so far.

    The rate counts from the end of the first item after `count` (the first batch or step may trace
    and compile) once later ones are done, before that from the start. `ProgressLogger` (training)
    and `BatchProgress` (other loops) pace their lines with it.

    >>> pace = Pace(interval=10, clock=iter([0, 1, 5, 11]).__next__)
    >>> pace.tick(1), pace.tick(2), pace.tick(3)
    (None, None, (11, 0.2))
    """

    def __init__(self, interval, clock, count=0):
        self.interval, self.clock = interval, clock
        self._start = (count, clock())
        self._first = None  # (count, time) at the end of the first item
        self.last_line = self._start[1]

    def tick(self, count):
        """Records that `count` items are done: `(now, items/s or None)` when a line is due, else None."""
        now = self.clock()
        if self._first is None:
            self._first = (count, now)
        if now - self.last_line < self.interval:
            return None
        self.last_line = now
        start_count, start = self._first if count > self._first[0] else self._start
        done, elapsed = count - start_count, now - start
        return now, (done / elapsed if done > 0 and elapsed > 0 else None)


class BatchProgress:
    """A line every `interval` seconds of a loop over `total` batches, when `stream` is not a terminal.

    Call `update(done)` after each batch. Batches/s counts from the end of the first batch (which
    may trace and compile) once later ones are done; the ETA needs `total` (None: unknown).

    >>> progress = BatchProgress(4, "evaluating", interval=0, print_fn=print, clock=iter(range(9)).__next__)
    >>> for done in range(1, 5):
    ...     progress.update(done)
    evaluating: batch 1/4 - 1.0 batches/s - ETA 0:03
    evaluating: batch 2/4 - 1.0 batches/s - ETA 0:02
    evaluating: batch 3/4 - 1.0 batches/s - ETA 0:01
    evaluating: batch 4/4 - 1.0 batches/s - ETA 0:00

    Args:
        total: batches in the loop, or None.
        what: the line's first word(s).
        interval: seconds between lines (default: `progress_interval()`).
        stream: where the lines go, and whose being a terminal turns them off (default: stdout).
        print_fn: overrides `stream` (and always prints): tests pass `lines.append`.
        clock: returns seconds (monotonic).
    """

    def __init__(self, total, what="evaluating", interval=None, stream=None, print_fn=None, clock=time.monotonic):
        self.total = total
        self.what = what
        self.interval = progress_interval(interval)
        self.enabled = print_fn is not None or not is_terminal(stream)
        self.print_fn = print_fn or _printer(stream)
        self._pace = Pace(self.interval, clock)

    def update(self, done):
        """Records that `done` batches are done; prints a line when the interval has passed."""
        if not self.enabled:
            return
        due = self._pace.tick(done)
        if due is None:
            return
        rate = due[1]
        line = f"{self.what}: batch {done}/{self.total or '?'}"
        if rate is not None:
            line += f" - {rate:.1f} batches/s"
            if self.total:
                line += f" - ETA {format_duration((self.total - done) / rate)}"
        self.print_fn(line)
