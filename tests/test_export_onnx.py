"""ONNX export: onnxruntime gives the Keras model's outputs at any batch size and sequence length."""

import os

import keras
import numpy as np
import onnx
import onnxruntime
import pytest
from conftest import TINY, make_inputs
from onnx import numpy_helper

import keras_bert_zoo as kbz

SHAPES = [(1, 8), (7, 128), (32, 512)]  # (batch, sequence)


@pytest.fixture(scope="module")
def encoder():
    keras.utils.set_random_seed(0)
    return kbz.BertEncoder(**TINY, max_sequence_length=512)


def session(path):
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def assert_matches_keras(model, path, inputs):
    onnx_session = session(path)
    names = [output.name for output in onnx_session.get_outputs()]
    outputs = dict(zip(names, onnx_session.run(names, inputs)))
    expected = model(inputs)
    expected = expected if isinstance(expected, dict) else {"logits": expected}
    assert set(outputs) == set(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(outputs[name], keras.ops.convert_to_numpy(value), atol=1e-4, err_msg=name)


@pytest.mark.parametrize("head", ["classifier", "token_classifier", "span_qa"])
def test_task_models_match_keras_at_dynamic_shapes(encoder, tmp_path, head):
    model = {
        "classifier": lambda: kbz.BertClassifier(encoder, num_classes=3),
        "token_classifier": lambda: kbz.BertTokenClassifier(encoder, num_classes=5),
        "span_qa": lambda: kbz.BertSpanQA(encoder),
    }[head]()
    path = kbz.export.onnx(model, tmp_path / f"{head}.onnx")
    assert [tuple(i.shape) for i in session(path).get_inputs()] == [("batch", "sequence")] * 3
    for batch, sequence in SHAPES:
        assert_matches_keras(model, path, make_inputs(batch, sequence, TINY["vocabulary_size"], seed=batch))


def test_encoder_and_multiple_choice(encoder, tmp_path):
    (tmp_path / "encoder.onnx").write_bytes(b"old")
    os.link(tmp_path / "encoder.onnx", tmp_path / "reader")  # a reader of the old file keeps reading it:
    path = kbz.export.onnx(encoder, tmp_path / "encoder.onnx", opset=15)
    assert (tmp_path / "reader").read_bytes() == b"old"  # the export replaced the file, not rewrote it
    shapes = {o.name: tuple(o.shape) for o in session(path).get_outputs()}
    assert shapes == {"sequence_output": ("batch", "sequence", 16), "pooled_output": ("batch", 16)}
    assert_matches_keras(encoder, path, make_inputs(3, 20, TINY["vocabulary_size"]))

    model = kbz.BertMultipleChoice(encoder, num_choices=4)
    path = kbz.export.onnx(model, tmp_path / "choices.onnx")
    inputs = {k: v.reshape(2, 4, 11) for k, v in make_inputs(8, 11, TINY["vocabulary_size"]).items()}
    assert_matches_keras(model, path, inputs)
    assert sorted(p.name for p in tmp_path.iterdir()) == [  # each file with its model card
        "choices.onnx", "choices.onnx.README.md", "encoder.onnx", "encoder.onnx.README.md", "reader"]


def test_file_is_self_contained_with_each_weight_once(encoder, tmp_path):
    model = kbz.BertClassifier(encoder, num_classes=3)
    graph = onnx.load(str(kbz.export.onnx(model, tmp_path / "classifier.onnx"))).graph
    assert [value.name for value in graph.input] == ["padding_mask", "segment_ids", "token_ids"]
    stored = sum(numpy_helper.to_array(tensor).size for tensor in graph.initializer)
    floats = sum(int(np.prod(v.shape)) for v in model.weights if v.dtype == "float32")
    assert floats <= stored <= floats + 1000  # + shape and index constants; no weight stored twice


def test_pretrainer_is_refused(encoder, tmp_path):
    with pytest.raises(NotImplementedError, match="BertPretrainer"):
        kbz.export.onnx(kbz.BertPretrainer(encoder), tmp_path / "p.onnx")
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_real_minilm_encoder(tmp_path):
    encoder = kbz.load("all_minilm_l6_v2")
    preprocessor = kbz.load_preprocessor("all_minilm_l6_v2", sequence_length=None)
    texts = ["A man is playing a guitar.", "", "Straße, naïve café: ﬁne! " * 40]
    inputs = {name: value.numpy() for name, value in preprocessor(texts).items()}
    assert inputs["token_ids"].shape[1] > 128
    onnx_session = session(kbz.export.onnx(encoder, tmp_path / "minilm.onnx"))
    names = ["sequence_output", "pooled_output"]
    outputs = dict(zip(names, onnx_session.run(names, inputs)))
    expected = {name: value.numpy() for name, value in encoder(inputs).items()}
    np.testing.assert_allclose(outputs["pooled_output"], expected["pooled_output"], atol=1e-4)
    # Padding positions, which no head reads, are ~10x more sensitive to rounding than tokens (TF's
    # erfc GELU computed as 1 - erf, as in the ONNX graph, moves them by 1.8e-5, tokens by 2e-6):
    # they differ by up to ~2e-4, tokens by ~4e-6.
    is_token = inputs["padding_mask"].astype(bool)
    difference = np.abs(outputs["sequence_output"] - expected["sequence_output"])
    assert difference[is_token].max() <= 1e-4
    assert difference[~is_token].max() <= 1e-3
