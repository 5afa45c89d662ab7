"""recipes/distill.py end to end on a tiny teacher run and a few sentences: each student is a run folder
that `keras-bert-zoo export` ships, and the last lines compare dev accuracy, size and latency with the
teacher's."""

import re

import keras
import numpy as np
import pytest
from helpers import TINY_VOCABULARY

import keras_bert_zoo as kbz
from keras_bert_zoo import cli
from keras_bert_zoo.tasks import distill
from keras_bert_zoo.training import runs

SENTENCES = [("a good movie .", 1), ("a great film .", 1), ("not a good film", 0), ("the bad movie", 0),
             ("the cat sat on the mat", 1), ("a bad bad film", 0)]


@pytest.mark.slow
def test_distill_recipe_writes_student_runs_that_export_and_compares_them_last(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative run folders, as the recipes' defaults are
    keras.utils.set_random_seed(0)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(TINY_VOCABULARY), sequence_length=12)
    teacher = kbz.BertClassifier(kbz.BertEncoder(len(TINY_VOCABULARY), 4, 2, 16, 32, max_sequence_length=16),
                                 num_classes=2, label_names=["negative", "positive"], preprocessor=preprocessor)
    (tmp_path / "teacher").mkdir()
    teacher.save(tmp_path / "teacher" / "best.keras")
    for name, rows in (("train", SENTENCES * 4), ("dev", SENTENCES)):
        (tmp_path / f"{name}.tsv").write_text("sentence\tlabel\n" + "".join(f"{s}\t{y}\n" for s, y in rows))

    data = ["--train-file", str(tmp_path / "train.tsv"), "--dev-file", str(tmp_path / "dev.tsv"), "--batch-size",
            "8", "--latency-runs", "2"]
    distill.main(["--teacher", "teacher", "--student-layers", "2", "--model-dir", "distill", *data])
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.match(r"student-L2: [\d.]+x the teacher's dev accuracy, [\d.]+x its speed at batch 1, [\d.]+x at "
                    r"batch 32, 0\.\d+x its size$", lines[-1]), lines[-1]
    table = [line.split() for line in lines[-3:-1]]  # name, layers, dev accuracy, size, batch 1 and 32 ms
    assert [row[:2] for row in table] == [["teacher", "4"], ["student-L2", "2"]]
    assert all(0 <= float(row[2]) <= 1 and float(row[4]) > 0 for row in table)
    student = kbz.load(runs.model_file(tmp_path / "distill" / "L2"))
    assert (type(student), student.encoder.num_layers, student.label_names) == (kbz.BertClassifier, 2,
                                                                                 ["negative", "positive"])
    assert np.asarray(student(student.preprocessor(["a good movie ."]))).shape == (1, 2)  # its vocabulary inside

    # The CLI: one student, its own run folder, which `export` ships under the name the run recorded.
    cli.main(["compress", str(tmp_path / "teacher"), "--distill-layers", "1", "--output", str(tmp_path / "small"),
              *data])
    assert kbz.load(runs.model_file(tmp_path / "small")).encoder.num_layers == 1
    cli.main(["export", str(tmp_path / "small"), "--format", "saved_model", "--output-dir", str(tmp_path / "saved")])
    assert list((tmp_path / "saved" / "sst2_distilled_l1").iterdir())
