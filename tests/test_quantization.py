"""Quantization (kbz.compress): Keras' int8 weights through .keras and SavedModel serving, and quantization-aware
fine-tuning (fake-quant dense kernels, straight-through updates) exported to an int8 TFLite file."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY_VOCABULARY, TINY_WORDS, tiny_encoder, tiny_preprocessor

import keras_bert_zoo as kbz
from keras_bert_zoo.compress import FakeQuantWeights, prune, quantize_int8
from keras_bert_zoo.compress.quantization import fake_quant

TEXTS = ["a good movie", "not the bad film .", "the cat sat on the mat", "great", ""]


@pytest.fixture(scope="module")
def classifier():
    # intermediate 128: kernels over the 1024 elements below which the TFLite converter keeps a weight float
    encoder = tiny_encoder(len(TINY_VOCABULARY), num_layers=2, num_heads=2, hidden_dim=32, intermediate_dim=128,
                           dropout=0.0)
    return kbz.BertClassifier(encoder, num_classes=2, dropout=0.0, label_names=["neg", "pos"],
                              preprocessor=tiny_preprocessor())


def copy_of(classifier):
    encoder = classifier.encoder
    copy = kbz.BertClassifier(type(encoder).from_config(encoder.get_config()), num_classes=2, dropout=0.0,
                              label_names=["neg", "pos"], preprocessor=classifier.preprocessor)
    copy.set_weights(classifier.get_weights())
    return copy


def test_keras_int8_model_serves_as_a_saved_model(classifier, tmp_path):
    before = [w.copy() for w in classifier.get_weights()]
    quantized = quantize_int8(classifier)
    assert all(np.array_equal(a, b) for a, b in zip(before, classifier.get_weights()))  # the float model stays
    kernel = quantized.get_layer("logits")._kernel
    assert keras.backend.standardize_dtype(kernel.dtype) == "int8"
    ids = classifier.preprocessor(TEXTS)
    logits = keras.ops.convert_to_numpy(quantized(ids))
    float_logits = keras.ops.convert_to_numpy(classifier(ids))
    assert 0 < np.abs(logits - float_logits).max() < 0.02  # rounded, close
    path = kbz.export.saved_model(quantized, tmp_path / "served")
    served = tf.saved_model.load(str(path)).signatures["serving_default"](text=tf.constant(TEXTS))
    np.testing.assert_allclose(served["probabilities"], keras.ops.softmax(logits).numpy(), atol=1e-6)


@pytest.mark.parametrize("part", ["task", "encoder", "pruned task"])
def test_keras_int8_model_loads_back_from_its_keras_file(classifier, part, tmp_path):
    model = {"task": classifier, "encoder": classifier.encoder,
             "pruned task": prune(classifier, heads={0: [1]}, ffn={1: list(range(64))})}[part]
    quantized = quantize_int8(model)
    quantized.save(tmp_path / "int8.keras")
    loaded = keras.saving.load_model(tmp_path / "int8.keras")
    assert [v.path for v in loaded.weights] == [v.path for v in quantized.weights]
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), quantized.get_weights()))
    assert {layer.quantization_mode for layer in loaded._flatten_layers() if hasattr(layer, "_kernel")} == {"int8"}
    ids = classifier.preprocessor(TEXTS)
    out = loaded(ids) if part != "encoder" else loaded(ids)["sequence_output"]
    expected = quantized(ids) if part != "encoder" else quantized(ids)["sequence_output"]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out), keras.ops.convert_to_numpy(expected))


def test_fake_quant_rounds_as_keras_int8_does():
    value = np.random.default_rng(0).normal(size=(6, 5)).astype("float32")
    quantized, scale = keras.quantizers.abs_max_quantize(value, axis=0, to_numpy=True)
    np.testing.assert_allclose(fake_quant(value, (0,)), np.asarray(quantized, "float32") / scale, rtol=1e-6)
    assert len(np.unique(fake_quant(value, (0,))[:, 0])) <= 6 and not np.allclose(fake_quant(value, (0,)), value)


def test_a_step_updates_the_float_kernel_with_the_gradient_at_the_rounded_one(classifier):
    model, reference = copy_of(classifier), copy_of(classifier)
    ids = classifier.preprocessor(TEXTS)
    labels = np.array([1, 0, 1, 1, 0])
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    query = "transformer_layer_0/self_attention_layer/query/kernel"
    ffn_out = "transformer_layer_0/feedforward_output_dense/kernel"
    variables = {v.path: v for v in reference.trainable_weights}
    originals = {path: variables[path].numpy() for path in (query, ffn_out)}
    for v in reference.trainable_weights:  # the rounded forward pass, by hand
        if v.path.endswith("/kernel") and "feedforward_output_dense" not in v.path:
            v.assign(fake_quant(v.numpy(), tuple(range(v.ndim - 1)) if "attention_output" in v.path else (0,)))
    with tf.GradientTape() as tape:
        value = loss(labels, reference(ids))
    gradients = dict(zip([v.path for v in reference.trainable_weights],
                         tape.gradient(value, reference.trainable_weights)))
    model.compile(keras.optimizers.SGD(0.5), loss)
    model.fit(ids, labels, batch_size=5, epochs=1, verbose=0, shuffle=False, callbacks=[FakeQuantWeights()])
    after = {v.path: v.numpy() for v in model.trainable_weights}
    for path in (query, ffn_out):  # float kernel - lr * gradient at the rounded kernels; ffn_out stays float
        np.testing.assert_allclose(after[path], originals[path] - 0.5 * gradients[path].numpy(), atol=1e-6)
    assert not np.allclose(after[query], fake_quant(after[query], (0,)), atol=1e-6)  # float, off the int8 grid


def test_quantization_aware_model_exports_to_int8_tflite(classifier, tmp_path):  # pruned: its TFLite export too
    keras.utils.set_random_seed(1)  # the fits' shuffles
    rng = np.random.default_rng(1)
    texts = [" ".join(rng.choice(TINY_WORDS, size=rng.integers(1, 8))) for _ in range(256)]
    labels = np.array(["good" in text or "great" in text for text in texts], "int32")
    model = prune(classifier, heads={0: [1]}, ffn={1: list(range(0, 128, 4))})
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ids = classifier.preprocessor(texts)
    model.fit(ids, labels, batch_size=32, epochs=2, verbose=0)  # float fine-tuning, then a few steps of QAT
    model.fit(ids, labels, batch_size=32, epochs=1, verbose=0, callbacks=[FakeQuantWeights()])
    path = kbz.export.tflite(model, tmp_path / "qat.tflite", "int8", texts[:32])
    interpreter = kbz.export.tflite_interpreter(path)
    assert any(t["dtype"] == np.int8 for t in interpreter.get_tensor_details())
    out = interpreter.get_signature_runner()(text=np.array(texts, object))
    expected = keras.ops.softmax(model(ids)).numpy()
    assert np.mean(np.argmax(expected, -1) == labels) >= 0.9  # it learned
    assert np.mean(out["label_id"] == np.argmax(expected, -1)) >= 0.95
    assert np.abs(out["probabilities"] - expected).mean() < 0.05
