"""SavedModel export of a bare BertEncoder: raw strings in, pooled and mean embeddings equal to Keras out."""


import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import saved_model_cli_listing, tiny_vocabulary

import keras_bert_zoo as kbz

VOCAB = tiny_vocabulary("a", "cat", "sat", "on", "the", "mat", ".")
TEXTS = ["the cat sat on the mat.", "a cat", "", " \t ", "the mat " * 12500, b"\xff\xfe cat"]  # 100,000 chars


@pytest.fixture(scope="module")
def encoder():
    keras.utils.set_random_seed(0)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB), sequence_length=12)
    return kbz.BertEncoder(len(VOCAB), 2, 2, 16, 32, max_sequence_length=12), preprocessor


@pytest.fixture(scope="module")
def exported(encoder, tmp_path_factory):
    model, preprocessor = encoder
    path = kbz.export.saved_model(model, tmp_path_factory.mktemp("embed"), preprocessor=preprocessor)
    with kbz.export.ServedModel(path) as served:
        yield path, served


def _expected(encoder, inputs):
    outputs = encoder.predict(inputs, verbose=0)
    mask = inputs["padding_mask"][:, :, None]
    return outputs["pooled_output"], (outputs["sequence_output"] * mask).sum(1) / mask.sum(1)


def _check(out, expected):
    assert sorted(out) == ["mean_embedding", "pooled_output"]
    np.testing.assert_allclose(out["pooled_output"], expected[0], atol=1e-4)
    np.testing.assert_allclose(out["mean_embedding"], expected[1], atol=1e-4)


def test_text_and_ids_signatures_equal_keras(encoder, exported):
    model, preprocessor = encoder
    served = exported[1]
    for texts in (TEXTS, TEXTS[:1], TEXTS * 43):  # 6, 1 and 258 texts
        inputs = {k: v.numpy() for k, v in preprocessor(tf.constant(texts)).items()}
        expected = _expected(model, inputs)
        _check(served(text=texts), expected)
    _check(served("from_ids", **inputs), expected)


def test_pair_variant(encoder, tmp_path):
    model, preprocessor = encoder
    a, b = ["the cat", "", "a"], ["sat on the mat", "mat", b"\xff"]
    path = kbz.export.saved_model(model, tmp_path, preprocessor=preprocessor, pair=True)
    with kbz.export.ServedModel(path) as served:
        out = served(text_a=a, text_b=b)
    inputs = {k: v.numpy() for k, v in preprocessor((tf.constant(a), tf.constant(b))).items()}
    assert inputs["segment_ids"].any()
    _check(out, _expected(model, inputs))


def test_saved_model_cli_lists_the_signatures(exported):
    names = ("text", "pooled_output", "mean_embedding", "token_ids", "segment_ids", "padding_mask")
    saved_model_cli_listing(exported[0], names)


def test_a_pretrainer_exports_its_encoder(encoder, tmp_path):
    model, preprocessor = encoder
    pretrainer = kbz.BertPretrainer(model, preprocessor=preprocessor)
    with kbz.export.ServedModel(kbz.export.saved_model(pretrainer, tmp_path)) as served:
        out = served(text=TEXTS[:2])
    _check(out, _expected(model, {k: v.numpy() for k, v in preprocessor(tf.constant(TEXTS[:2])).items()}))
