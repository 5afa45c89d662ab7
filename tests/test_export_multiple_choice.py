"""SavedModel export of BertMultipleChoice: a context and its choices as raw strings in, the chosen one out."""


import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import saved_model_cli_listing, tiny_vocabulary

import keras_bert_zoo as kbz

VOCAB = tiny_vocabulary("the", "glass", "fell", "broke", "flew", "away", ".")
CONTEXTS = ["the glass fell.", "", "the glass " * 10000]  # the last: 100,000 characters
CHOICES = [["the glass broke.", "it flew away.", ""], [" ", "glass", b"\xff\xfe broke"], ["a", "b", "c"]]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(0)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB), sequence_length=16)
    model = kbz.BertMultipleChoice(kbz.BertEncoder(len(VOCAB), 2, 2, 16, 32, max_sequence_length=16), num_choices=3,
                                   preprocessor=preprocessor)
    kernel = model.get_layer("choice_score").kernel  # spread the scores so that the choice varies
    kernel.assign(np.random.default_rng(0).normal(size=kernel.shape).astype("float32"))
    path = kbz.export.saved_model(model, tmp_path_factory.mktemp("choice"))
    with kbz.export.ServedModel(path) as served:
        yield model, preprocessor, path, served


def _keras_inputs(preprocessor, contexts, choices):
    flat = [c for row in choices for c in row]
    pairs = preprocessor((tf.constant(np.repeat(contexts, 3).tolist()), tf.constant(flat)))
    return {name: value.numpy().reshape(len(contexts), 3, -1) for name, value in pairs.items()}


def test_served_choice_equals_keras(exported):
    model, preprocessor, _, served = exported
    batches = [(CONTEXTS, CHOICES), (CONTEXTS[:1], CHOICES[:1]), (CONTEXTS[:2] * 128, CHOICES[:2] * 128)]
    for contexts, choices in batches:
        inputs = _keras_inputs(preprocessor, contexts, choices)
        expected = keras.ops.softmax(model.predict(inputs, verbose=0), axis=-1)
        out = served(context=contexts, choices=choices)
        np.testing.assert_allclose(out["probabilities"], expected, atol=1e-4)
        assert out["label_id"].tolist() == np.argmax(expected, -1).tolist()
        assert out["answer"].tolist() == [row[i] if isinstance(row[i], bytes) else row[i].encode()
                                          for row, i in zip(choices, out["label_id"])]
    np.testing.assert_allclose(served("from_ids", **inputs)["probabilities"], expected, atol=1e-4)
    # The same choices in turned orders: each pair scores alike wherever it stands, so the chosen index turns too.
    turned = [CHOICES[0], CHOICES[0][1:] + CHOICES[0][:1], CHOICES[0][2:] + CHOICES[0][:2]]
    out = served(context=[CONTEXTS[0]] * 3, choices=turned)
    assert len(set(out["label_id"].tolist())) == 3 and len(set(out["answer"].tolist())) == 1


def test_saved_model_cli_lists_the_signatures(exported):
    names = ("context", "choices", "probabilities", "label_id", "answer", "token_ids")
    shown = saved_model_cli_listing(exported[2], names)
    assert "shape: (-1, 3)" in shown  # choices: [batch, num_choices]
