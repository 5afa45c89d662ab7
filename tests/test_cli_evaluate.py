"""`keras-bert-zoo evaluate`: regressors, and binary F1 in the model's own class order."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import tiny_vocabulary

import keras_bert_zoo as kbz
from keras_bert_zoo import metrics
from keras_bert_zoo.cli import main

VOCAB = tiny_vocabulary("good", "bad", "movie", "a", "great", "film", "not")
TEXTS = ["a great movie", "not good", "bad film", "a good film", "not a great movie", "bad", "great", "a movie"]


def export(tmp_path, num_classes, label_names=None):
    keras.utils.set_random_seed(3)
    encoder = kbz.BertEncoder(len(VOCAB), 1, 2, 16, 32, max_sequence_length=16)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB), sequence_length=8)
    model = kbz.BertClassifier(encoder, num_classes=num_classes, label_names=label_names, preprocessor=preprocessor)
    path = kbz.export.saved_model(model, tmp_path / "model")
    return path, tf.saved_model.load(str(path)).signatures["serving_default"](text=tf.constant(TEXTS))


def write_tsv(path, labels):
    path.write_text("sentence\tlabel\n" + "".join(f"{t}\t{label}\n" for t, label in zip(TEXTS, labels)))
    return path


def scores(out):
    """The `name: value` lines after `model: ...` (an export in the same test prints its phase lines before)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("model: ")) + 1
    return {name: float(value) for name, value in (line.split(": ") for line in lines[start:])}


def test_a_regressor_reports_pearson_spearman_and_mse(tmp_path, capsys):
    path, served = export(tmp_path, num_classes=1)
    gold = np.linspace(0.0, 5.0, len(TEXTS))
    main(["evaluate", str(path), "--file", str(write_tsv(tmp_path / "dev.tsv", gold)), "--task", "stsb"])
    predicted = served["score"].numpy()
    assert scores(capsys.readouterr().out) == pytest.approx({
        "pearson": metrics.pearson_corrcoef(gold, predicted),
        "spearman": metrics.spearman_corrcoef(gold, predicted),
        "mse": float(np.mean((gold - predicted) ** 2)),
    }, abs=1e-4)


def test_binary_f1_counts_the_models_label_1_as_positive(tmp_path, capsys):
    # "positive" is the model's class 0; sorting the label strings would make it the positive class.
    path, served = export(tmp_path, num_classes=2, label_names=["positive", "negative"])
    label_ids = served["label_id"].numpy()
    gold_ids = np.where(np.arange(len(TEXTS)) % 3 == 0, 1 - label_ids, label_ids)  # some right, some wrong
    gold = np.array(["positive", "negative"])[gold_ids]
    main(["evaluate", str(path), "--file", str(write_tsv(tmp_path / "dev.tsv", gold)), "--task", "mrpc"])
    expected = {"accuracy": metrics.accuracy(gold_ids, label_ids), "f1": metrics.binary_f1(gold_ids, label_ids)}
    assert expected["f1"] != pytest.approx(metrics.binary_f1(1 - gold_ids, 1 - label_ids), abs=1e-4)
    assert scores(capsys.readouterr().out) == pytest.approx(expected, abs=1e-4)

    write_tsv(tmp_path / "other.tsv", ["pos", "neg"] * (len(TEXTS) // 2))
    with pytest.raises(SystemExit, match=r"labels \['neg', 'pos'\] of .*other.tsv are not labels of the model"):
        main(["evaluate", str(path), "--file", str(tmp_path / "other.tsv"), "--task", "mrpc"])


@pytest.fixture(scope="module")
def named_classifier(tmp_path_factory):
    return export(tmp_path_factory.mktemp("named"), num_classes=2, label_names=["negative", "positive"])


def test_class_id_labels_score_a_model_that_names_its_classes(named_classifier, tmp_path, capsys):
    # The classify recipe names SST-2's 0/1 negative/positive; the dev TSV still says 0/1.
    path, served = named_classifier
    label_ids = served["label_id"].numpy()
    gold_ids = np.where(np.arange(len(TEXTS)) % 3 == 0, 1 - label_ids, label_ids)
    main(["evaluate", str(path), "--file", str(write_tsv(tmp_path / "dev.tsv", gold_ids))])
    captured = capsys.readouterr()
    assert scores(captured.out) == pytest.approx({"accuracy": metrics.accuracy(gold_ids, label_ids)}, abs=1e-4)
    assert "labels by class id (0, 1)" in captured.err


def test_evaluate_errors_are_one_line_messages(named_classifier, tmp_path):
    path, _ = named_classifier
    tsv = str(write_tsv(tmp_path / "dev.tsv", ["negative", "positive"] * (len(TEXTS) // 2)))
    cases = [
        ([str(tmp_path / "nowhere"), "--file", tsv], r"nowhere not found: give a SavedModel folder"),
        ([str(path), "--file", str(tmp_path / "missing.tsv")], r"--file .*missing.tsv not found\.$"),
        ([str(path), "--file", tsv, "--text-columns", "question"],
         r"dev.tsv has no column question; its header is \['sentence', 'label'\]"),
        ([str(path), "--file", tsv, "--text-columns", "sentence,label"], r"takes text; --text-columns .* gives 2"),
        ([str(path), "--file", tsv, "--text-columns", "a,b,c"], r"--text-columns takes one column or two"),
        ([str(path), "--file", tsv, "--label-column", "gold"], r"has no labels in a column 'gold'"),
    ]
    for flags, message in cases:
        with pytest.raises(SystemExit, match=message) as raised:
            main(["evaluate", *flags])
        assert str(raised.value).startswith("error: ") and "\n" not in str(raised.value)
