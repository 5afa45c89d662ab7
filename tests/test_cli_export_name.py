"""`keras-bert-zoo export RUN` names its output after the recipe's --export-dir, not the run folder."""

import json

import keras
import pytest
from helpers import tiny_vocabulary

import keras_bert_zoo as kbz
from keras_bert_zoo import export
from keras_bert_zoo.cli import main
from keras_bert_zoo.training import runs

VOCAB = tiny_vocabulary("good", "bad", "movie")


def _write_run(run, export_dir=None):
    keras.utils.set_random_seed(0)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB), sequence_length=8)
    model = kbz.BertClassifier(kbz.BertEncoder(len(VOCAB), 1, 2, 8, 16, max_sequence_length=8), num_classes=2,
                               label_names=["neg", "pos"], preprocessor=preprocessor)
    run.mkdir(parents=True)
    model.save(run / "best.keras")
    kwargs = {} if export_dir is None else {"export_dir": export_dir}
    runs.save_run_info(run, **kwargs)


@pytest.fixture(autouse=True)
def fake_onnx(monkeypatch):
    """Only the output name is under test: the export itself is tested in test_cli.py."""
    monkeypatch.setattr(export, "onnx", lambda model, path, **options: path)


def test_export_defaults_to_the_recipes_export_name(tmp_path, capsys):
    run = tmp_path / "runs" / "classify"
    _write_run(run, export_dir=tmp_path / "saved_models" / "sst2")
    info = json.loads((run / runs.RUN_INFO).read_text())
    assert info["export_name"] == "sst2" and "export_dir" not in info
    assert main(["export", str(run), "--format", "onnx", "--output-dir", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"exported BertClassifier to {tmp_path / 'out' / 'sst2.onnx'}"
    # --name still wins.
    assert main(["export", str(run), "--format", "onnx", "--name", "mine", "--output-dir", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(str(tmp_path / "out" / "mine.onnx"))


def test_an_old_run_folder_keeps_its_folder_name(tmp_path, capsys):
    run = tmp_path / "runs" / "classify"
    _write_run(run)  # run.json as runs wrote it before they recorded the export name
    assert "export_name" not in json.loads((run / runs.RUN_INFO).read_text())
    assert main(["export", str(run), "--format", "onnx", "--output-dir", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(str(tmp_path / "out" / "classify.onnx"))
