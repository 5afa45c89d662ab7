"""`keras-bert-zoo export RUN` names its output after the recipe's --export-dir, not the run folder."""

import json

import pytest
from helpers import tiny_vocabulary, write_classifier_run

from keras_bert_zoo import export
from keras_bert_zoo.cli import main
from keras_bert_zoo.training import runs

VOCAB = tiny_vocabulary("good", "bad", "movie")


@pytest.fixture(autouse=True)
def fake_onnx(monkeypatch):
    """Only the output name is under test: the export itself is tested in test_cli.py."""
    monkeypatch.setattr(export, "onnx", lambda model, path, **options: path)


def test_export_defaults_to_the_recipes_export_name(tmp_path, capsys):
    run = tmp_path / "runs" / "classify"
    write_classifier_run(run, VOCAB, export_dir=tmp_path / "saved_models" / "sst2")
    info = json.loads((run / runs.RUN_INFO).read_text())
    assert info["export_name"] == "sst2" and "export_dir" not in info
    assert main(["export", str(run), "--format", "onnx", "--output-dir", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"exported BertClassifier to {tmp_path / 'out' / 'sst2.onnx'}"
    # --name still wins.
    assert main(["export", str(run), "--format", "onnx", "--name", "mine", "--output-dir", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(str(tmp_path / "out" / "mine.onnx"))


def test_an_old_run_folder_keeps_its_folder_name(tmp_path, capsys):
    run = tmp_path / "runs" / "classify"
    write_classifier_run(run, VOCAB)  # run.json as runs wrote it before they recorded the export name
    assert "export_name" not in json.loads((run / runs.RUN_INFO).read_text())
    assert main(["export", str(run), "--format", "onnx", "--output-dir", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(str(tmp_path / "out" / "classify.onnx"))
