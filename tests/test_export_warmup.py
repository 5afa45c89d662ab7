"""TF Serving warmup requests: written into the version folder, read back as PredictionLog records, and
each request's inputs run through the loaded signature."""

import numpy as np
import pytest
import tensorflow as tf
from helpers import tiny_vocabulary
from tensorflow_serving.apis import prediction_log_pb2

import keras_bert_zoo as kbz
from keras_bert_zoo.export.saved_model_files import WARMUP_FILE, warmup_inputs

VOCAB = tiny_vocabulary("a", "good", "bad", "film")
WARMUP = [("a good film", "bad"), {"text_b": "", "text_a": b"\xff\xfe film"}, ["", "   "]]


@pytest.fixture(scope="module")
def pair_classifier():
    encoder = kbz.BertEncoder(len(VOCAB), 2, 2, 16, 32, max_sequence_length=16)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB), sequence_length=16)
    return kbz.BertClassifier(encoder, num_classes=2, label_names=["neg", "pos"], pair=True, preprocessor=preprocessor)


def _requests(path):
    logs = [prediction_log_pb2.PredictionLog.FromString(record.numpy())
            for record in tf.data.TFRecordDataset(str(path / WARMUP_FILE))]
    return [log.predict_log.request for log in logs]


def test_warmup_requests_replay_through_the_loaded_signature(pair_classifier, tmp_path):
    path = kbz.export.saved_model(pair_classifier, tmp_path, warmup_examples=WARMUP)
    requests = _requests(path)
    assert len(requests) == len(WARMUP)
    assert {request.model_spec.signature_name for request in requests} == {"serving_default"}
    assert tf.make_ndarray(requests[1].inputs["text_a"]).tolist() == [b"\xff\xfe film"]
    with kbz.export.ServedModel(path) as served:
        for request in requests:
            inputs = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
            assert sorted(inputs) == ["text_a", "text_b"]
            out = served(request.model_spec.signature_name, **inputs)
            assert out["label"].shape == (1,) and np.isfinite(out["probabilities"]).all()


def test_bad_warmup_examples_name_the_problem():
    text = [tf.TensorSpec([None], tf.string, name="text")]
    pair = [tf.TensorSpec([None], tf.string, name="text_a"), tf.TensorSpec([None], tf.string, name="text_b")]
    choices = [tf.TensorSpec([None, 2], tf.string, name="choices")]
    for examples, specs, message in [
        ([], text, "Give 1 to 1000 warmup examples"),
        (["a"] * 1001, text, "Give 1 to 1000 warmup examples"),
        (["a"], pair, "example 0 is one value; the signature takes"),
        ([("a", "b", "c")], pair, "example 0 has 3 values"),
        ([{"text_a": "a"}], pair, r"example 0 has inputs \['text_a'\]"),
        (["a", 3], text, "example 1, input 'text': not strings"),
        ([[["a", "b", "c"]]], choices, r"example 0, input 'choices': shape \(3,\) per example"),
    ]:
        with pytest.raises(ValueError, match=message):
            warmup_inputs(examples, specs)
    assert warmup_inputs([[["a", "b"]]], choices)[0]["choices"].shape == (1, 2)
