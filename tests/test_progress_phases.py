"""Progress of work that is not training: phase lines, the heartbeat of opaque calls, batch lines of
predict/evaluate loops, and the model card facts a run records for `keras-bert-zoo export`."""

import io
import json
import re
import threading
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import tiny_vocabulary, write_classifier_run

import keras_bert_zoo as kbz
from keras_bert_zoo.cli import main
from keras_bert_zoo.progress import ENV_INTERVAL, BatchProgress, phase
from keras_bert_zoo.training import runs
from keras_bert_zoo.training.progress import BatchProgressCallback, batch_progress

VOCAB = tiny_vocabulary("good", "bad", "movie", "a", "great", "film", "not")
TEXTS = ["a great movie", "not good", "bad film", "a good film", "not a great movie", "bad", "great", "a movie"]
RECIPE = Path(__file__).parents[1] / "recipes" / "multiple_choice.py"
FACTS = {"base_model": "google/bert_uncased_L-2_H-128_A-2", "training_data": "SST-2 sample: 48 training sentences",
         "metrics": {"dev accuracy": 0.8125}, "command": "python recipes/classify.py --epochs 1"}


class Log(io.StringIO):
    """A log file (not a terminal) that says when a line starting with `awaited` arrives."""

    def __init__(self, awaited="still ", terminal=False):
        super().__init__()
        self.awaited, self.terminal, self.arrived = awaited, terminal, threading.Event()

    def isatty(self):
        return self.terminal

    def write(self, text):
        if text.startswith(self.awaited):
            self.arrived.set()
        return super().write(text)


def test_a_phase_says_when_it_starts_and_ends_and_beats_while_an_opaque_call_runs():
    log = Log()
    with phase("converting to ONNX: m.onnx", interval=0, stream=log):
        assert log.arrived.wait(30)  # the heartbeat thread's first line, whatever this machine's speed
    lines = log.getvalue().splitlines()
    assert lines[0] == "converting to ONNX: m.onnx..."
    assert re.fullmatch(r"still converting to ONNX: m\.onnx \(0:\d\d\)", lines[1])
    assert re.fullmatch(r"converting to ONNX: m\.onnx: done in 0:\d\d", lines[-1])
    count = len(lines)
    threading.Event().wait(1.5)
    assert len(log.getvalue().splitlines()) == count  # the heartbeat ended with the phase


def test_a_phase_in_a_terminal_has_no_heartbeat_and_a_failure_says_so():
    log = Log(terminal=True)
    with phase("loading x", interval=0, stream=log):
        assert not log.arrived.wait(1.5)  # past the heartbeat's shortest interval
    started, ended = log.getvalue().splitlines()
    assert started == "loading x..." and re.fullmatch(r"loading x: done in 0:0\d", ended)
    log = Log()
    with pytest.raises(RuntimeError), phase("loading y", heartbeat=False, stream=log):
        raise RuntimeError("no")
    assert log.getvalue().splitlines() == ["loading y...", "loading y: failed after 0:00"]


def test_batch_progress_waits_for_the_interval_and_is_silent_in_a_terminal():
    clock, lines = iter([0, 1, 10, 40, 70, 71]).__next__, []
    progress = BatchProgress(None, "scoring", interval=30, print_fn=lines.append, clock=clock)
    for done in (1, 2, 3, 4):
        progress.update(done)
    # Batch 1 ends at 1 s (first batch, compiling); 2 more by 40 s; 3 more by 70 s.
    assert lines == ["scoring: batch 3/? - 0.1 batches/s", "scoring: batch 4/? - 0.0 batches/s"]
    terminal = Log(terminal=True)
    quiet = BatchProgress(4, interval=0, stream=terminal)
    quiet.update(1)
    assert terminal.getvalue() == ""


def test_predict_and_evaluate_print_batch_lines_in_a_log(monkeypatch, capsys):
    monkeypatch.setenv(ENV_INTERVAL, "0")  # a line at every batch
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.predict(np.zeros((10, 3)), batch_size=2, verbose=0, callbacks=batch_progress())
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" - ")[0] for line in lines] == [f"evaluating: batch {i}/5" for i in range(1, 6)]
    assert re.fullmatch(r"evaluating: batch 4/5 - \d+\.\d batches/s - ETA 0:00", lines[3])
    model.compile(loss="mse")
    scored = []
    model.evaluate(np.zeros((4, 3)), np.zeros((4, 2)), batch_size=2, verbose=0,
                   callbacks=[BatchProgressCallback("scoring", interval=0, print_fn=scored.append)])
    assert [line.split(" - ")[0] for line in scored] == ["scoring: batch 1/2", "scoring: batch 2/2"]


def test_export_of_a_run_writes_the_card_facts_its_recipe_recorded(tmp_path, capsys):
    run = tmp_path / "runs" / "classify"
    write_classifier_run(run, VOCAB, export_dir=run.parent / "sst2", card=FACTS)
    assert runs.run_info(run)["card"] == FACTS and kbz.load(runs.model_file(run)).label_names == ["neg", "pos"]
    assert main(["export", str(run), "--format", "saved_model", "--output-dir", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().out.splitlines()
    path = tmp_path / "out" / "sst2"
    assert lines[0] == f"exporting a SavedModel to {path}..."
    assert re.fullmatch(rf"exporting a SavedModel to {re.escape(str(path))}: done in \d+:\d\d", lines[-2])
    card = (path / "1" / "README.md").read_text()
    for fact in ("base_model: \"google/bert_uncased_L-2_H-128_A-2\"", "SST-2 sample: 48 training sentences",
                 "| dev accuracy | 0.8125 |", "python recipes/classify.py --epochs 1", "| 1 | pos |"):
        assert fact in card


def test_evaluate_prints_its_phases_and_batch_lines_on_stderr(tmp_path, monkeypatch, capsys):
    keras.utils.set_random_seed(3)
    model = kbz.BertClassifier(kbz.BertEncoder(len(VOCAB), 1, 2, 16, 32, max_sequence_length=16), num_classes=2,
                               label_names=["0", "1"],
                               preprocessor=kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB), sequence_length=8))
    path = kbz.export.saved_model(model, tmp_path / "model")
    capsys.readouterr()
    tsv = tmp_path / "dev.tsv"
    tsv.write_text("sentence\tlabel\n" + "".join(f"{text}\t{i % 2}\n" for i, text in enumerate(TEXTS)))
    monkeypatch.setenv(ENV_INTERVAL, "0")
    assert main(["evaluate", str(path), "--file", str(tsv), "--batch-size", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == f"model: {path}"  # stdout: the scores only
    assert re.fullmatch(r"accuracy: \d\.\d{4}", captured.out.splitlines()[-1])
    err = [line for line in captured.err.splitlines() if not line.startswith(f"still loading {path} (")]
    assert err[0] == f"loading {path}..." and err[1].startswith(f"loading {path}: done in ")
    assert err[2] == f"evaluating 8 examples of {tsv}..."
    assert [line.split(" - ")[0] for line in err[3:6]] == [f"evaluating: batch {i}/3" for i in (1, 2, 3)]
    assert err[6].startswith(f"evaluating 8 examples of {tsv}: done in ")


def test_convert_prints_its_phases(tmp_path, capsys):
    target = tmp_path / "tiny.keras"
    assert main(["convert", "bert_tiny_uncased", str(target), "--to", "keras", "--random-init"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "loading bert_tiny_uncased..."
    assert any(line.startswith("loading bert_tiny_uncased: done in ") for line in lines)
    assert lines[-3] == f"writing {target} (keras)..."
    assert lines[-2].startswith(f"writing {target} (keras): done in ")
    assert lines[-1] == f"wrote BertEncoder to {target} (keras)" and target.is_file()


@pytest.mark.slow
def test_a_recipe_prints_its_phases_and_records_its_card_for_later_exports(tmp_path, run_recipe, monkeypatch):
    monkeypatch.setenv(ENV_INTERVAL, "0")
    flags = ["--checkpoint", "bert_tiny_uncased", "--random-init", "--max-train-examples", "32", "--epochs", "1",
             "--batch-size", "16", "--sequence-length", "32", "--model-dir", tmp_path / "run",
             "--export-dir", tmp_path / "mc"]
    lines = run_recipe(RECIPE, *flags)
    phases = ["data: 32 training questions (2 batches of 16), 300 dev questions, 2 choices each", "weights: ",
              "training: ", "evaluating on 300 dev questions...", "evaluating: batch 19/19 - ",
              f"exporting a SavedModel to {tmp_path / 'mc'}...", "exported to ", "dev accuracy: "]
    found = [next((i for i, line in enumerate(lines) if line.startswith(phase)), None) for phase in phases]
    assert None not in found, (phases[found.index(None)], lines)
    assert found == sorted(found), lines

    card = json.loads((tmp_path / "run" / runs.RUN_INFO).read_text())["card"]
    accuracy = float(lines[-1].split(": ")[1])
    assert card == {"base_model": None,
                    "training_data": "COPA-style synthetic sample (recipes/data/multiple_choice): 32 training "
                                     "questions",
                    "metrics": {"dev accuracy": round(accuracy, 4)},
                    "command": "python " + " ".join(map(str, [RECIPE, *flags]))}
    assert f"| dev accuracy | {accuracy:.4f} |" in (tmp_path / "mc" / "1" / "README.md").read_text()
