"""`predict` on every export format: a .tflite and an .onnx file answer as the task's SavedModel does."""

import json

import keras
import numpy as np
import pytest
from helpers import check_export, tiny_vocabulary

import keras_bert_zoo as kbz
from keras_bert_zoo.cli import main
from keras_bert_zoo.export.file_clients import OnnxModel, TfliteModel
from keras_bert_zoo.export.serving_client import LocalModel, ServingError

WORDS = ["john", "smith", "works", "in", "paris", "a", "great", "movie", "dull", "where", "does", "?", ".", "##s"]
VOCAB = tiny_vocabulary(*WORDS)
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
TEXTS = ["a great movie", "John Smith works in Paris.", "dull", "Johns  works", ""]


def _encoder(seed, sequence_length=32):
    keras.utils.set_random_seed(seed)
    return kbz.BertEncoder(len(VOCAB), 2, 2, 16, 32, max_sequence_length=sequence_length)


def _spread(layer):
    """Random logits large enough that labels, tags and answers vary from text to text."""
    layer.kernel.assign(np.random.default_rng(0).normal(0, 3, size=layer.kernel.shape).astype("float32"))


@pytest.fixture(scope="module")
def preprocessor():
    return kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB), sequence_length=16)


def test_a_classifier_answers_alike_from_savedmodel_tflite_and_onnx(preprocessor, tmp_path, capsys):
    model = kbz.BertClassifier(_encoder(0), num_classes=3, label_names=["neg", "mid", "pos"], preprocessor=preprocessor)
    _spread(model.get_layer("logits"))
    # Keras, the SavedModel (TF2 and TF1), LocalModel, TfliteModel and OnnxModel answer alike
    paths = check_export(model, TEXTS, tmp_path, atol=1e-5)
    expected = LocalModel(paths["saved_model"]).predict({"text": TEXTS})
    spread = np.ptp([example["probabilities"] for example in expected], axis=0).max()
    assert spread > 1e-3  # texts differ by far more than the tolerance: a constant model would fail
    lines = {}
    capsys.readouterr()  # the exports' phase lines
    for path in (paths["saved_model"].parent, paths["onnx"], paths["tflite"]):
        assert main(["predict", str(path), *TEXTS[:3], "--json"]) == 0
        lines[path.suffix] = json.loads(capsys.readouterr().out)
    assert [row["outputs"]["label"] for row in lines[".tflite"]] == [row["outputs"]["label"] for row in lines[""]]
    assert [row["outputs"]["label"] for row in lines[".onnx"]] == [row["outputs"]["label"] for row in lines[""]]


def test_a_token_classifier_finds_the_same_entities_in_every_format(preprocessor, tmp_path, capsys):
    model = kbz.BertTokenClassifier(_encoder(1), num_classes=len(TAGS), label_names=TAGS, preprocessor=preprocessor)
    _spread(model.get_layer("logits"))
    paths = check_export(model, TEXTS, tmp_path, atol=1e-5)  # OnnxModel answers as LocalModel does
    inputs = {"text": TEXTS}
    expected = LocalModel(paths["saved_model"]).predict(inputs)
    assert sum(example["num_entities"] for example in expected) > 1
    # The .tflite answers per wordpiece, without offsets: words and entities come out lowercased, the same ones.
    got = TfliteModel(paths["tflite"]).predict(inputs)
    assert len(got) == len(expected)
    for want, have in zip(expected, got):
        assert have["words"] == [word.lower() for word in want["words"]]
        assert have["tags"] == want["tags"]
        assert have["entity_text"] == [text.lower() for text in want["entity_text"]]
        assert have["entity_type"] == want["entity_type"]
        np.testing.assert_allclose(have["entity_score"], want["entity_score"], atol=1e-5)
    capsys.readouterr()  # the exports' phase lines
    assert main(["predict", str(paths["tflite"]), TEXTS[1]]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(TEXTS[1] + " => ") and ":" not in line.split(" => ")[1]  # no character offsets


def test_span_qa_and_multiple_choice_onnx_answer_as_their_savedmodels(preprocessor, tmp_path):
    options = {"doc_stride": 4, "max_query_length": 6, "n_best": 5, "null_score_threshold": float("inf")}
    qa = kbz.BertSpanQA(_encoder(2), preprocessor=preprocessor, **options)
    _spread(qa.get_layer("span_logits"))
    inputs = {"question": ["where does john work?", "who?", ""],
              "context": ["john smith works in paris . a great movie . " * 3, "john", ""]}
    paths = check_export(qa, inputs, tmp_path / "qa", formats=("saved_model", "tf1", "onnx"), atol=1e-5)
    assert {example["answer"] for example in LocalModel(paths["saved_model"]).predict(inputs)} != {""}

    choices = kbz.BertMultipleChoice(_encoder(3), num_choices=3, preprocessor=preprocessor)
    inputs = {"context": ["john works in", "a movie"], "choices": [["paris", "smith", "dull"]] * 2}
    check_export(choices, inputs, tmp_path / "mc", formats=("saved_model", "tf1", "onnx"), atol=1e-5)


def test_an_onnx_file_without_its_tokenizer_files_is_refused_by_name(tmp_path):
    path = kbz.export.onnx(kbz.BertClassifier(_encoder(0), num_classes=2), tmp_path / "bare.onnx")
    with pytest.raises(ServingError, match="bare.onnx needs the tokenizer files its export writes beside it"):
        OnnxModel(path)
    with pytest.raises(SystemExit, match=r"^error: .*bare.onnx needs the tokenizer files .*bare.onnx.tokenizer/"):
        main(["predict", str(path), "a great movie"])
    with pytest.raises(ValueError, match="pass preprocessor"):
        kbz.export.onnx(_encoder(0), tmp_path / "x.onnx", pair=True)  # pair is written with the preprocessor
