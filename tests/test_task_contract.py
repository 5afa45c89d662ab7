"""Task models own their contract: a .keras file alone carries the preprocessor (its vocabulary an asset) and
the serving options, enough to export it from Python or with `keras-bert-zoo export model.keras`."""

import json
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import check_task

import keras_bert_zoo as kbz
from keras_bert_zoo.cli import main

VOCAB = Path(__file__).parents[1] / "keras_bert_zoo" / "vocab" / "uncased.txt"
TEXTS = ["a good movie", "an unaffable, bad one"]
QUESTIONS = ["what is it?", "who?"]


def encoder():
    return kbz.BertEncoder(30522, 1, 2, 8, 16, max_sequence_length=32)


def preprocessor():
    return kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB), sequence_length=16, padding="longest")


def build(name):
    """(model with a preprocessor and non-default options, those options, raw-text inputs of its preprocessor)."""
    options, texts = {
        "classifier": ({"num_classes": 2, "label_names": ["neg", "pos"], "pair": True}, (QUESTIONS, TEXTS)),
        "token_classifier": ({"num_classes": 3, "label_names": ["O", "B-PER", "I-PER"]}, TEXTS),
        "span_qa": ({"doc_stride": 4, "max_query_length": 8, "n_best": 5, "max_answer_length": 7,
                     "null_score_threshold": 1.5}, (QUESTIONS, TEXTS)),
        "multiple_choice": ({"num_choices": 2}, (QUESTIONS, TEXTS)),
        "pretrainer": ({}, TEXTS),
    }[name]
    cls = {"classifier": kbz.BertClassifier, "token_classifier": kbz.BertTokenClassifier, "span_qa": kbz.BertSpanQA,
           "multiple_choice": kbz.BertMultipleChoice, "pretrainer": kbz.BertPretrainer}[name]
    return cls(encoder(), preprocessor=preprocessor(), **options), options, texts


def model_inputs(name, model, texts):
    inputs = {key: np.asarray(value) for key, value in model.preprocessor(texts).items()}
    if name == "multiple_choice":  # [batch, choices, length]: each row's two choices
        inputs = {key: np.stack([value, value[::-1]], axis=1) for key, value in inputs.items()}
    if name == "pretrainer":
        inputs["mask_positions"] = np.ones((len(TEXTS), 2), "int32")
    return inputs


@pytest.mark.parametrize("name", ["classifier", "token_classifier", "span_qa", "multiple_choice", "pretrainer"])
def test_a_task_model_with_its_preprocessor_and_options_round_trips_through_a_keras_file(name, tmp_path):
    keras.utils.set_random_seed(0)
    model, options, texts = build(name)
    inputs = model_inputs(name, model, texts)
    # config and .keras round trips: class, config, options, preprocessor, outputs; float32 logits under mixed precision
    check_task(model, inputs, atol=1e-6)
    path = tmp_path / "model.keras"
    model.save(path)

    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        config = archive.read("config.json").decode("utf-8")
    assert len(config) < 20_000 and "unaffable" not in config  # no 30522-token vocabulary list inside
    assert json.loads(config)["config"]["preprocessor"]["config"]["tokenizer"]["config"]["vocabulary"] is None
    assert any(entry.startswith("assets/") and entry.endswith("/vocabulary.txt") for entry in names), names

    loaded = kbz.load(path)
    assert type(loaded) is type(model)
    assert {key: getattr(loaded, key) for key in options} == options
    assert (loaded.preprocessor.sequence_length, loaded.preprocessor.padding) == (16, "longest")
    for key, value in model_inputs(name, loaded, texts).items():
        np.testing.assert_array_equal(value, inputs[key])
    keras.tree.map_structure(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), loaded(inputs), model(inputs))


def test_a_saved_model_exports_from_the_keras_file_alone(tmp_path):
    keras.utils.set_random_seed(0)
    model, _, texts = build("classifier")
    model.save(tmp_path / "model.keras")
    del model

    loaded = kbz.load(tmp_path / "model.keras")
    path = kbz.export.saved_model(loaded, tmp_path / "exported")
    served = tf.saved_model.load(str(path)).signatures["serving_default"]
    out = served(text_a=tf.constant(texts[0]), text_b=tf.constant(texts[1]))
    expected = keras.ops.softmax(loaded(loaded.preprocessor(texts)))
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5)
    assert [label.decode() for label in out["label"].numpy()] == [["neg", "pos"][i] for i in out["label_id"].numpy()]


def test_a_task_model_without_a_preprocessor_says_so(tmp_path):
    with pytest.raises(ValueError, match="This BertClassifier has no preprocessor to export with it"):
        kbz.export.saved_model(kbz.BertClassifier(encoder(), num_classes=2), tmp_path / "exported")


def test_cli_exports_a_keras_file(tmp_path, capsys):
    keras.utils.set_random_seed(0)
    model, _, texts = build("span_qa")
    model.save(tmp_path / "model.keras")

    assert main(["export", str(tmp_path / "model.keras"), "--format", "saved_model",
                 "--output-dir", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"exported BertSpanQA to {tmp_path / 'out' / 'model'}")
    served = tf.saved_model.load(str(tmp_path / "out" / "model" / "1")).signatures["serving_default"]
    out = served(question=tf.constant(texts[0]), context=tf.constant(texts[1]))
    for answer, start, end, context in zip(out["answer"].numpy(), out["answer_start"].numpy(),
                                           out["answer_end"].numpy(), texts[1]):
        assert answer.decode("utf-8") == (context[start:end] if start >= 0 else "")
