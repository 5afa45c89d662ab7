"""SavedModel export: raw strings in, the same answers as the Keras model, loadable the way TF Serving loads."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bert_zoo as kbz

WORDS = ["good", "bad", "movie", "a", "great", "film", "not"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
TEXTS = ["a great movie", "not good", "", "   ", "bad bad film " * 50, "unknownword"]


@pytest.fixture(scope="module")
def classifier():
    keras.utils.set_random_seed(0)
    encoder = kbz.BertEncoder(len(VOCAB), 2, 2, 16, 32, max_sequence_length=32)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB, lowercase=True), sequence_length=16)
    return kbz.BertClassifier(encoder, num_classes=3), preprocessor


def test_serving_default_takes_raw_strings_and_equals_keras(classifier, tmp_path):
    model, preprocessor = classifier
    path = kbz.export.saved_model(model, preprocessor, tmp_path / "sst", ["neg", "neutral", "pos"])
    assert path == tmp_path / "sst" / "1"
    served = tf.saved_model.load(str(path)).signatures["serving_default"]
    out = served(text=tf.constant(TEXTS))
    expected = keras.ops.softmax(model(preprocessor(tf.constant(TEXTS))), axis=-1)
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-5)
    np.testing.assert_array_equal(out["label_id"].numpy(), np.argmax(expected, -1))
    names = np.array([b"neg", b"neutral", b"pos"])
    np.testing.assert_array_equal(out["label"].numpy(), names[np.argmax(expected, -1)])


def test_from_ids_signature_and_tf1_session_loader(classifier, tmp_path):
    model, preprocessor = classifier
    path = kbz.export.saved_model(model, preprocessor, tmp_path / "sst", ["neg", "neutral", "pos"])
    inputs = {k: v.numpy() for k, v in preprocessor(tf.constant(TEXTS[:2])).items()}
    expected = keras.ops.softmax(model(inputs), axis=-1)
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:  # the model server's loader path
        meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(path))
        for name, feeds in [("serving_default", {"text": np.array(TEXTS[:2], object)}), ("from_ids", inputs)]:
            signature = meta.signature_def[name]
            fetch = signature.outputs["probabilities"].name
            feed = {signature.inputs[k].name: v for k, v in feeds.items()}
            np.testing.assert_allclose(session.run(fetch, feed), expected, atol=1e-5)


def test_second_export_is_a_new_version(classifier, tmp_path):
    model, preprocessor = classifier
    first = kbz.export.saved_model(model, preprocessor, tmp_path, ["a", "b", "c"])
    second = kbz.export.saved_model(model, preprocessor, tmp_path, ["a", "b", "c"])
    assert (first.name, second.name) == ("1", "2")


def test_wrong_number_of_label_names(classifier, tmp_path):
    model, preprocessor = classifier
    with pytest.raises(ValueError, match="2 label names for 3 classes"):
        kbz.export.saved_model(model, preprocessor, tmp_path, ["a", "b"])
    assert not any(tmp_path.iterdir())
