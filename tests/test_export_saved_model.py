"""SavedModel export of classifiers: raw strings in, the same answers as the Keras model, loadable the way
TF Serving loads it; what the entry point refuses."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import saved_model_cli_listing, tiny_vocabulary
from tensorflow_serving.apis import prediction_log_pb2

import keras_bert_zoo as kbz
from keras_bert_zoo.export.saved_model_files import WARMUP_FILE

WORDS = ["good", "bad", "movie", "a", "great", "film", "not"]
VOCAB = tiny_vocabulary(*WORDS)
LABELS = ["neg", "neutral", "pos"]
TEXTS = ["a great movie", "not good", "", "   ", "bad bad film " * 50, "unknownword"]
ODD_TEXTS = ["", " \t\n ", "a great film " * 7693, b"\xff\xfe abc good"]  # the third has 100,009 characters


@pytest.fixture(scope="module")
def classifier():
    keras.utils.set_random_seed(0)
    encoder = kbz.BertEncoder(len(VOCAB), 2, 2, 16, 32, max_sequence_length=32)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB, lowercase=True), sequence_length=16)
    return kbz.BertClassifier(encoder, num_classes=3, label_names=LABELS, preprocessor=preprocessor), preprocessor


@pytest.fixture(scope="module")
def exported(classifier, tmp_path_factory):
    model, preprocessor = classifier
    path = kbz.export.saved_model(model, tmp_path_factory.mktemp("sst"))
    with kbz.export.ServedModel(path) as served:
        yield path, served


def _keras_probabilities(model, preprocessor, texts):
    return keras.ops.softmax(model.predict(preprocessor(tf.constant(texts)), verbose=0), axis=-1)


def test_serving_default_takes_raw_strings_and_equals_keras(classifier, exported):
    model, preprocessor = classifier
    path, served = exported
    assert path.name == "1"
    expected = _keras_probabilities(model, preprocessor, TEXTS)
    tf2_signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    for out in (served(text=TEXTS), tf2_signature(text=tf.constant(TEXTS))):
        out = {name: np.asarray(value) for name, value in out.items()}
        np.testing.assert_allclose(out["probabilities"], expected, atol=1e-4)
        np.testing.assert_array_equal(out["label_id"], np.argmax(expected, -1))
        np.testing.assert_array_equal(out["label"], np.array(LABELS, object)[np.argmax(expected, -1)].astype(bytes))


def test_each_weight_is_stored_once(classifier, exported):
    # Keras 3.15's ExportArchive stores every variable twice (keras-team/keras#23553); compat.export_archive not.
    model, _ = classifier
    reader = tf.train.load_checkpoint(str(exported[0] / "variables" / "variables"))
    stored = [name for name in reader.get_variable_to_shape_map() if name.endswith("VARIABLE_VALUE")]
    sizes = reader.get_variable_to_shape_map()
    assert len(stored) == len(model.variables)  # weights, and the dropout layers' seed states
    assert sum(int(np.prod(sizes[name])) for name in stored) == sum(int(np.prod(v.shape)) for v in model.variables)


def test_from_ids_signature(classifier, exported):
    model, preprocessor = classifier
    inputs = {k: v.numpy() for k, v in preprocessor(tf.constant(TEXTS[:2])).items()}
    out = exported[1]("from_ids", **inputs)
    np.testing.assert_allclose(out["probabilities"], _keras_probabilities(model, preprocessor, TEXTS[:2]), atol=1e-4)


def test_odd_inputs_and_batch_sizes(classifier, exported):
    model, preprocessor = classifier
    served = exported[1]
    texts = [text.decode("utf-8", "replace") if isinstance(text, bytes) else text for text in ODD_TEXTS]
    np.testing.assert_allclose(served(text=ODD_TEXTS)["probabilities"],
                               _keras_probabilities(model, preprocessor, texts), atol=1e-4)
    assert served(text=["good"])["label"].shape == (1,)
    many = served(text=TEXTS * 43)  # 258
    np.testing.assert_allclose(many["probabilities"], _keras_probabilities(model, preprocessor, TEXTS * 43), atol=1e-4)


def test_pair_regressor_is_the_next_version(classifier, exported):
    model, preprocessor = classifier
    regressor = kbz.BertClassifier(model.encoder, num_classes=1, pair=True, preprocessor=preprocessor)
    path = kbz.export.saved_model(regressor, exported[0].parent)
    assert path == exported[0].parent / "2"
    a, b = ["a great movie", "", b"\xff bad"], ["not good", "film", "a"]
    with kbz.export.ServedModel(path) as served:
        out = served(text_a=a, text_b=b)
    assert sorted(out) == ["score"]
    expected = regressor.predict(preprocessor((tf.constant(a), tf.constant(b))), verbose=0)[:, 0]
    np.testing.assert_allclose(out["score"], expected, atol=1e-4)


def test_saved_model_cli_lists_the_signatures(exported):
    names = ("text", "probabilities", "label_id", "label", "token_ids", "segment_ids", "padding_mask")
    saved_model_cli_listing(exported[0], names)


def test_default_warmup_requests(exported):
    records = tf.data.TFRecordDataset(str(exported[0] / WARMUP_FILE))
    requests = [prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request for record in records]
    assert [tf.make_ndarray(request.inputs["text"]).tolist() for request in requests] == [
        [b"This is a short example sentence."], [b""]]


def test_limits_are_written_and_refuse_a_larger_request(exported):
    path, served = exported
    assert json.loads((path / "assets.extra" / "serving_limits.json").read_text()) == {
        "max_chars_per_text": 1_000_000, "max_texts_per_request": 1_000, "max_windows_per_context": 1_000,
        "encoder_batch_size": 64}
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"request has 1001 texts; this model accepts at most 1,000 \(max_texts_per_request\)"):
        served(text=["good"] * 1001)


def test_refused_arguments_write_nothing(classifier, tmp_path):
    model, preprocessor = classifier
    two_labels = kbz.BertClassifier(model.encoder, num_classes=3, preprocessor=preprocessor)
    two_labels.label_names = ["a", "b"]  # set after construction, which would refuse them too
    with pytest.raises(ValueError, match="2 label names for 3 classes"):
        kbz.export.saved_model(two_labels, tmp_path)
    with pytest.raises(TypeError, match="No SavedModel export for a Functional"):
        kbz.export.saved_model(keras.Model(model.inputs, model.outputs), tmp_path, preprocessor=preprocessor)
    labelled_encoder = kbz.BertEncoder(len(VOCAB), 2, 2, 16, 32, max_sequence_length=32)
    labelled_encoder.label_names = ["a"]  # label names on a bare encoder (only a task model takes them)
    with pytest.raises(ValueError, match="label_names apply to a BertClassifier or a BertTokenClassifier"):
        kbz.export.saved_model(labelled_encoder, tmp_path, preprocessor=preprocessor)
    with pytest.raises(ValueError, match="Warmup example 0 has inputs"):
        kbz.export.saved_model(model, tmp_path, warmup_examples=[{"texts": "a"}])
    with pytest.raises(ValueError, match="max_chars_per_text must be a positive int"):
        kbz.export.saved_model(model, tmp_path, max_chars_per_text=0)
    assert not any(tmp_path.iterdir())
