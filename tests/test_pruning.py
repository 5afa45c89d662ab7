"""Structured pruning (kbz.compress.prune): a pruned model computes what the unpruned one computes with the same
heads and neurons masked, keeps its class through .keras, exports, and transformers reads its HF folder."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY_VOCABULARY, check_export, hf_difference, padded_inputs, tiny_encoder, tiny_preprocessor

import keras_bert_zoo as kbz
from keras_bert_zoo.compress import gate_importance, prune

VOCABULARY_SIZE = len(TINY_VOCABULARY)
HEADS, NEURONS = {0: [1, 3], 2: [0]}, {1: list(range(0, 64, 3))}  # removed


def perturb(model, seed=0):
    """Every weight moved off its init (LayerNorm ones, zero biases), so each one matters."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign(variable.numpy() + rng.normal(0, 0.05, variable.shape).astype("float32"))
    return model


@pytest.fixture(scope="module")
def classifier():
    encoder = tiny_encoder(VOCABULARY_SIZE, num_layers=3, num_heads=4, hidden_dim=32, intermediate_dim=64)
    return perturb(kbz.BertClassifier(encoder, num_classes=3, label_names=["a", "b", "c"],
                                      preprocessor=tiny_preprocessor()))


@pytest.fixture(scope="module")
def pruned(classifier):
    return prune(classifier, heads=HEADS, ffn=NEURONS)


@pytest.fixture(scope="module")
def inputs():
    return padded_inputs(batch=3, seq=9, vocabulary_size=VOCABULARY_SIZE)


def masked_copy(model, heads, neurons):
    """`model` (same shape) with the heads' attention-output rows and the neurons' output rows zeroed: a gate of 0."""
    copy = kbz.BertClassifier.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    for variable in copy.weights:
        layer = variable.path.split("/")[0].removeprefix("transformer_layer_")
        if variable.path.endswith("attention_output/kernel") and int(layer) in heads:
            variable.assign(tf.tensor_scatter_nd_update(variable, [[h] for h in heads[int(layer)]],
                                                        tf.zeros([len(heads[int(layer)]), *variable.shape[1:]])))
        if variable.path.endswith("feedforward_output_dense/kernel") and int(layer) in neurons:
            value = variable.numpy()
            value[neurons[int(layer)]] = 0
            variable.assign(value)
    return copy


def test_pruned_model_equals_the_masked_unpruned_model(classifier, pruned, inputs):
    encoder = pruned.encoder
    assert (type(pruned), encoder.pruned_heads, encoder.intermediate_dims) == (
        kbz.BertClassifier, {0: [1, 3], 2: [0]}, [64, 42, 64])
    assert pruned.count_params() == classifier.count_params() - 3 * (3 * (32 * 8 + 8) + 8 * 32) - 22 * (32 + 1 + 32)
    expected = masked_copy(classifier, HEADS, NEURONS)(inputs)
    np.testing.assert_allclose(pruned(inputs), expected, atol=1e-5)
    assert np.abs(classifier(inputs) - expected).max() > 1e-3  # the masked parts mattered


def test_heads_are_renumbered_against_the_original_ones(classifier, pruned, inputs):
    again = prune(pruned, heads={0: [0]})  # head 0 of the 2 left in layer 0 is the original head 0
    assert again.encoder.pruned_heads == {0: [0, 1, 3], 2: [0]}
    expected = masked_copy(classifier, {0: [0, 1, 3], 2: [0]}, NEURONS)(inputs)
    np.testing.assert_allclose(again(inputs), expected, atol=1e-5)


def test_removing_a_layer_skips_it(classifier, inputs):
    small = prune(classifier, layers=[1])
    encoder = classifier.encoder
    embeddings = keras.Model(encoder.input, encoder.get_layer("embeddings_dropout").output)(inputs)
    x = encoder.transformer_layers[0](embeddings, padding_mask=inputs["padding_mask"])
    x = encoder.transformer_layers[2](x, padding_mask=inputs["padding_mask"])
    logits = classifier.get_layer("logits")(encoder.pooled_dense(x[:, 0]))
    assert small.encoder.num_layers == 2 and small.encoder.pruned_heads is None
    np.testing.assert_allclose(small(inputs), logits, atol=1e-5)


def test_gate_importance_is_the_gradient_of_a_head_gate(classifier, inputs):
    labels = np.array([0, 2, 1])
    data = tf.data.Dataset.from_tensors((inputs, labels))
    heads, neurons = gate_importance(classifier, data, normalize=False)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    kernel = next(v for v in classifier.weights if v.path == "transformer_layer_1/self_attention_layer/"
                  "attention_output/kernel")
    original = kernel.numpy()

    def loss_with_gate(head, gate):  # a gate on a head's output scales its slice of the output kernel
        gated = original.copy()
        gated[head] *= gate
        kernel.assign(gated)
        value = float(loss(labels, classifier(inputs)))
        kernel.assign(original)
        return value

    for head in range(4):
        numeric = (loss_with_gate(head, 1.01) - loss_with_gate(head, 0.99)) / 0.02
        np.testing.assert_allclose(heads[1][head], abs(numeric), rtol=2e-2, atol=1e-4)
    assert [len(scores) for scores in neurons] == [64, 64, 64]


def test_fractions_remove_the_least_important(classifier, inputs):
    data = tf.data.Dataset.from_tensor_slices((inputs, np.array([0, 2, 1]))).batch(3)
    heads, neurons = gate_importance(classifier, data)
    small = prune(classifier, heads=0.5, ffn=0.25, importance=(heads, neurons))
    removed = sorted((layer, head) for layer, lost in small.encoder.pruned_heads.items() for head in lost)
    ranked = sorted((heads[layer][head], layer, head) for layer in range(3) for head in range(4))
    assert removed == sorted((layer, head) for _, layer, head in ranked[:6])
    assert small.encoder.intermediate_dims == [48, 48, 48]
    np.testing.assert_allclose(
        small(inputs), masked_copy(classifier, {i: sorted(h) for i, h in small.encoder.pruned_heads.items()},
                                   {i: np.argsort(neurons[i])[:16].tolist() for i in range(3)})(inputs), atol=1e-5)


def test_keras_file_and_exports(pruned, tmp_path):
    pruned.save(tmp_path / "pruned.keras")
    loaded = keras.saving.load_model(tmp_path / "pruned.keras")
    assert loaded.encoder.pruned_heads == {0: [1, 3], 2: [0]} and loaded.get_config() == pruned.get_config()
    texts = ["a good movie", "not the bad film ."]
    np.testing.assert_array_equal(loaded(pruned.preprocessor(texts)), pruned(pruned.preprocessor(texts)))
    check_export(loaded, texts, tmp_path, formats=("saved_model", "onnx"))  # TFLite: test_quantization's QAT test


def test_hugging_face_folder_is_full_size_with_zeros(classifier, pruned, inputs, tmp_path):
    import transformers

    folder = kbz.save_hf(pruned, tmp_path / "hf")
    theirs = transformers.BertForSequenceClassification.from_pretrained(folder, attn_implementation="eager").eval()
    assert (theirs.config.num_attention_heads, theirs.config.intermediate_size) == (4, 64)
    assert hf_difference(pruned, theirs, inputs) <= 1e-5
    output = theirs.bert.encoder.layer[0].attention.output.dense.weight.detach().numpy()
    assert not output[:, 8:16].any() and not output[:, 24:32].any() and output[:, :8].all()  # heads 1 and 3
    ours = kbz.load(folder)
    np.testing.assert_allclose(ours(inputs), pruned(inputs), atol=1e-5)
    assert ours.label_names == ["a", "b", "c"]


def test_bad_requests_say_what_is_wrong(classifier):
    with pytest.raises(ValueError, match="layer 0 would keep no heads"):
        prune(classifier, heads={0: [0, 1, 2, 3]})
    with pytest.raises(ValueError, match=r"heads\[2\]=\[4\]: layer 2 has 4"):
        prune(classifier, heads={2: [4]})
    with pytest.raises(ValueError, match=r"ffn=1: give a fraction in \[0, 1\)"):
        prune(classifier, ffn=1)
    with pytest.raises(ValueError, match="pass dataset="):
        prune(classifier, heads=0.4)
    with pytest.raises(ValueError, match="not all"):
        prune(classifier, layers=[0, 1, 2])
    with pytest.raises(TypeError, match="Sequential is not an encoder"):
        prune(keras.Sequential([keras.layers.Dense(2)]), heads={0: [0]})
