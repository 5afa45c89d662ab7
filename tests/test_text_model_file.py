"""A task model with its preprocessor inside saves to .keras and, reloaded, predicts on raw strings."""

import keras
import numpy as np
import tensorflow as tf
from helpers import tiny_vocabulary

import keras_bert_zoo as kbz

VOCAB = tiny_vocabulary("good", "bad", "movie", "a")


def test_keras_file_with_preprocessor_reloads_and_predicts_on_strings(tmp_path):
    keras.utils.set_random_seed(0)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB), sequence_length=8)
    classifier = kbz.BertClassifier(kbz.BertEncoder(len(VOCAB), 1, 2, 8, 16), num_classes=2)
    text = keras.Input(shape=(), dtype="string", name="text")
    model = keras.Model(text, classifier(preprocessor(text)))
    strings = np.array(["a good movie", "bad", "", "unseen words here"])
    expected = classifier(preprocessor(tf.constant(strings)))
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(reloaded(tf.constant(strings)), expected, atol=1e-6)
    reloaded_tokenizer = reloaded.layers[1].tokenizer
    assert reloaded_tokenizer.get_vocabulary() == VOCAB
