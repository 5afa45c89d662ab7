"""recipes/distill.py end to end on a tiny teacher run and a few sentences: each student is a run folder
that `keras-bert-zoo export` ships, and the last lines compare dev accuracy, size and latency with the
teacher's."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY_VOCABULARY

import keras_bert_zoo as kbz
from keras_bert_zoo import cli
from keras_bert_zoo.compress import gate_importance, prune, quantize_int8
from keras_bert_zoo.data import classification_dataset, label_vocabulary, read_glue_tsv
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

    # The CLI: a student of 1 layer, half its heads pruned, int8 weights: its own run folder, which `export` ships.
    cli.main(["compress", str(tmp_path / "teacher"), "--distill-layers", "1", "--prune-heads", "0.5",
              "--quantize", "int8", *data[:-2]])
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines[-5:-1]] == ["dev", "1", "pruned", "int8"], lines[-5:]
    small = kbz.load(runs.model_file(tmp_path / "teacher_l1_h50_int8"))
    assert (small.encoder.num_layers, small.encoder.pruned_heads) == (1, {0: [small.encoder.pruned_heads[0][0]]})
    assert small.get_layer("logits").quantization_mode == "int8"
    cli.main(["export", str(tmp_path / "teacher_l1_h50_int8"), "--format", "saved_model", "--output-dir",
              str(tmp_path / "saved")])
    served = tf.saved_model.load(str(tmp_path / "saved" / "teacher_l1_h50_int8" / "1"))
    probabilities = served.signatures["serving_default"](text=tf.constant(["a good movie ."]))["probabilities"]
    np.testing.assert_allclose(probabilities, keras.ops.softmax(small(small.preprocessor(["a good movie ."]))),
                               atol=1e-6)


def test_compress_prunes_and_quantizes_a_run_without_distilling(tmp_path, capsys):
    keras.utils.set_random_seed(0)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(TINY_VOCABULARY), sequence_length=12)
    teacher = kbz.BertClassifier(kbz.BertEncoder(len(TINY_VOCABULARY), 2, 4, 16, 32, max_sequence_length=16),
                                 num_classes=2, label_names=["negative", "positive"], preprocessor=preprocessor)
    teacher.save(tmp_path / "teacher.keras")
    for name, rows in (("train", SENTENCES * 4), ("dev", SENTENCES)):
        (tmp_path / f"{name}.tsv").write_text("sentence\tlabel\n" + "".join(f"{s}\t{y}\n" for s, y in rows))
    data = ["--train-file", str(tmp_path / "train.tsv"), "--dev-file", str(tmp_path / "dev.tsv")]
    with pytest.raises(SystemExit):
        cli.main(["compress", str(tmp_path / "teacher.keras"), *data])  # nothing to do
    assert "give at least one of --distill-layers" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["compress", str(tmp_path / "teacher.keras"), "--prune-heads", "1.5", *data])
    assert "1.5 is not a fraction in (0, 1)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["compress", str(tmp_path / "teacher.keras"), "--prune-heads", "0.5", "--epochs", "2", *data])
    assert "unrecognized arguments: --epochs 2 (other flags go to --distill-layers)" in capsys.readouterr().err

    cli.main(["compress", str(tmp_path / "teacher.keras"), "--prune-heads", "0.25", "--prune-ffn", "0.5",
              "--quantize", "int8", *data])
    small = kbz.load(runs.model_file(tmp_path / "teacher_h25_f50_int8"))
    assert sum(map(len, small.encoder.pruned_heads.values())) == 2 and small.encoder.intermediate_dims == [16, 16]
    info = runs.run_info(tmp_path / "teacher_h25_f50_int8")
    assert "25% of heads pruned, 50% of FFN neurons pruned, int8 weights" in info["card"]["training_data"]
    # The same steps through the library: rank on the training sentences, prune, quantize.
    train = read_glue_tsv(tmp_path / "train.tsv", ["sentence"], "label")
    ranking = classification_dataset(train, preprocessor, 32, label_names=label_vocabulary(train.labels))
    expected = quantize_int8(prune(teacher, heads=0.25, ffn=0.5, importance=gate_importance(teacher, ranking)))
    ids = preprocessor([s for s, _ in SENTENCES])
    np.testing.assert_allclose(small(ids), expected(ids), atol=1e-6)
    with pytest.raises(SystemExit, match="has Keras int8 weights .* export the float model with quantization="):
        cli.main(["export", str(tmp_path / "teacher_h25_f50_int8"), "--format", "tflite", "--output-dir",
                  str(tmp_path / "out")])
