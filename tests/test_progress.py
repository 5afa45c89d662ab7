"""Progress lines when stdout is not a terminal: the callback on a fake clock, and a tiny classify run's phases."""

import re
from pathlib import Path

import pytest

from keras_bert_zoo.progress import ENV_INTERVAL, format_duration, progress_interval
from keras_bert_zoo.training.progress import ProgressLogger

RECIPE = Path(__file__).parents[1] / "recipes" / "classify.py"


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _logger(steps=250, epochs=1, interval=30, resumed=None, batch_size=32):
    clock, lines = FakeClock(), []
    logger = ProgressLogger(interval, batch_size=batch_size, clock=clock, print_fn=lines.append,
                            resumed_from=lambda: resumed)
    logger.set_params({"steps": steps, "epochs": epochs})
    logger.on_train_begin()
    return logger, clock, lines


def test_a_line_only_once_the_interval_passed_with_step_loss_rate_and_eta():
    logger, clock, lines = _logger()
    logger.on_epoch_begin(0)
    clock.now += 10  # the first step traces and compiles: no line yet, and not counted in the rate once others are
    for batch in range(120):
        clock.now += 0.5  # 2 steps/s: a line every 60 steps
        logger.on_train_batch_end(batch, {"accuracy": 0.8125, "loss": 0.41234})
    assert lines == [  # at 30 s and 60 s
        "step 40/250 (epoch 1/1) loss 0.4123 accuracy 0.8125 - 2.0 steps/s, 64.0 examples/s - ETA 1:45",
        "step 100/250 (epoch 1/1) loss 0.4123 accuracy 0.8125 - 2.0 steps/s, 64.0 examples/s - ETA 1:15",
    ]
    clock.now += 19.5
    logger.on_train_batch_end(120, {"loss": 0.3})
    assert len(lines) == 2  # the interval has not passed since the last line
    clock.now += 1.0
    logger.on_train_batch_end(121, {"loss": 0.3})  # 121 steps in the 80 s after the first
    assert lines[2:] == ["step 122/250 (epoch 1/1) loss 0.3000 - 1.5 steps/s, 48.4 examples/s - ETA 1:25"]


def test_the_epoch_line_and_eta_over_all_epochs():
    logger, clock, lines = _logger(steps=10, epochs=3, interval=5, batch_size=None)
    for epoch in range(2):
        logger.on_epoch_begin(epoch)
        for batch in range(10):
            clock.now += 1.0
            logger.on_train_batch_end(batch, {"loss": 1.0})
        logger.on_epoch_end(epoch, {"loss": 0.5, "val_loss": 0.25, "learning_rate": 1e-4})
    assert lines == [
        "step 5/10 (epoch 1/3) loss 1.0000 - 1.0 steps/s - ETA 0:25",
        "step 10/10 (epoch 1/3) loss 1.0000 - 1.0 steps/s - ETA 0:20",
        "epoch 1/3: 10 steps in 0:10 - loss: 0.5000 - val_loss: 0.2500 - learning_rate: 0.0001",
        "step 5/10 (epoch 2/3) loss 1.0000 - 1.0 steps/s - ETA 0:15",
        "step 10/10 (epoch 2/3) loss 1.0000 - 1.0 steps/s - ETA 0:10",
        "epoch 2/3: 10 steps in 0:10 - loss: 0.5000 - val_loss: 0.2500 - learning_rate: 0.0001",
    ]


def test_a_resumed_run_counts_from_where_it_resumed():
    logger, clock, lines = _logger(steps=10, epochs=2, interval=3, resumed=(1, 4, 14), batch_size=None)
    logger.on_epoch_begin(1)
    for batch in range(4):  # skipped to reach the backup: no time, no lines
        logger.on_train_batch_end(batch, {"loss": 9.0})
    clock.now += 10  # restoring, compiling
    logger.on_train_batch_end(4, {"loss": 1.0})
    assert lines == ["step 5/10 (epoch 2/2) loss 1.0000 - 0.1 steps/s - ETA 0:50"]  # 1 step in 10 s, 5 left
    for batch in range(5, 10):
        clock.now += 1
        logger.on_train_batch_end(batch, {"loss": 1.0})
    logger.on_epoch_end(1, {"loss": 1.0})
    assert lines[1:] == [  # after the first step trained (and compiled): 1 step/s
        "step 8/10 (epoch 2/2) loss 1.0000 - 1.0 steps/s - ETA 0:02",
        "epoch 2/2: 6 steps in 0:15 - loss: 1.0000",
    ]


def test_interval_from_argument_environment_or_default(monkeypatch):
    monkeypatch.delenv(ENV_INTERVAL, raising=False)
    assert progress_interval() == 30
    monkeypatch.setenv(ENV_INTERVAL, "2.5")
    assert progress_interval() == 2.5 and progress_interval(7) == 7
    monkeypatch.setenv(ENV_INTERVAL, "often")
    with pytest.raises(SystemExit, match=ENV_INTERVAL):
        progress_interval()
    assert [format_duration(s) for s in (0, 40, 725, 3723)] == ["0:00", "0:40", "12:05", "1:02:03"]


@pytest.mark.slow
def test_classify_in_a_log_prints_its_phases_in_order_and_ends_with_its_metric(tmp_path, run_recipe, monkeypatch):
    monkeypatch.setenv(ENV_INTERVAL, "0")  # a line at every step: independent of how fast this machine is
    dev = tmp_path / "dev.tsv"  # 16 sentences: a quick evaluation
    dev.write_text("".join((RECIPE.parent / "data" / "sst2" / "dev.tsv").read_text().splitlines(keepends=True)[:17]))
    lines = run_recipe(RECIPE, "--checkpoint", "bert_tiny_uncased", "--random-init", "--max-train-examples", "48",
                       "--batch-size", "16", "--dev-file", dev, "--model-dir", tmp_path / "run",
                       "--export-dir", tmp_path / "sst2")
    steps = int(re.search(r"^data: 48 training sentences \((\d+) batches of up to 16, grouped by length\), 16 dev "
                          r"sentences$", "\n".join(lines), re.M).group(1))
    assert 3 <= steps <= 3 + 6  # batches of 16 in the length buckets the 48 sentences fall in
    phases = ["weights: ", "data: 48 training sentences", f"training: 1 epoch of {steps} steps, batches of 16, peak "
              "learning rate 0.0001", f"step 1/{steps} (epoch 1/1) loss ", f"step {steps}/{steps} (epoch 1/1) loss ",
              f"epoch 1/1: {steps} steps in ", "exported to ", "dev accuracy: "]
    found = [next((i for i, line in enumerate(lines) if line.startswith(phase)), None) for phase in phases]
    assert None not in found, (phases[found.index(None)], lines)
    assert found == sorted(found), lines
    assert found[-1] == len(lines) - 1 and re.fullmatch(r"dev accuracy: [01]\.\d{4}", lines[-1])
    assert re.search(r" - \d+\.\d steps/s, \d+\.\d examples/s - ETA 0:\d\d$", lines[found[4]])
