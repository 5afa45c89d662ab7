"""Task heads: shapes, what each head computes, and the task contract (`helpers.check_task`): config and .keras
round trips with identical outputs, float32 logits under mixed precision."""

import keras
import numpy as np
import pytest
from conftest import make_inputs
from helpers import check_task

import keras_bert_zoo as kbz
from keras_bert_zoo.models.backbone import Backbone


def build(name, encoder):
    return {
        "pretrainer": lambda: kbz.BertPretrainer(encoder),
        "classifier": lambda: kbz.BertClassifier(encoder, num_classes=3),
        "classifier_dense_tanh": lambda: kbz.BertClassifier(encoder, num_classes=3, head="dense_tanh"),
        "classifier_dense_relu": lambda: kbz.BertClassifier(encoder, num_classes=3, head="dense_relu"),
        "regressor": lambda: kbz.BertClassifier(encoder, num_classes=1),
        "token_classifier": lambda: kbz.BertTokenClassifier(encoder, num_classes=5),
        "span_qa": lambda: kbz.BertSpanQA(encoder),
        "multiple_choice": lambda: kbz.BertMultipleChoice(encoder, num_choices=4),
        "multiple_choice_dense_relu": lambda: kbz.BertMultipleChoice(encoder, num_choices=4, head="dense_relu"),
    }[name]()


def inputs_for(name, batch=3, seq=9):
    inputs = make_inputs(batch, seq)
    if name == "pretrainer":
        inputs["mask_positions"] = np.tile(np.array([[1, 2]], "int32"), (batch, 1))
    if name.startswith("multiple_choice"):
        inputs = {k: np.stack([np.roll(v, i, axis=0) for i in range(4)], axis=1) for k, v in inputs.items()}
    return inputs


EXPECTED_SHAPES = {
    "pretrainer": {"mlm_logits": (3, 2, 97), "nsp_logits": (3, 2)},
    "classifier": (3, 3),
    "classifier_dense_tanh": (3, 3),
    "classifier_dense_relu": (3, 3),
    "regressor": (3, 1),
    "token_classifier": (3, 9, 5),
    "span_qa": {"start_logits": (3, 9), "end_logits": (3, 9)},
    "multiple_choice": (3, 4),
    "multiple_choice_dense_relu": (3, 4),
}


def shapes(outputs):
    if isinstance(outputs, dict):
        return {k: tuple(v.shape) for k, v in outputs.items()}
    return tuple(outputs.shape)


@pytest.mark.parametrize("name", EXPECTED_SHAPES)
def test_output_shapes(name, tiny_encoder):
    assert shapes(build(name, tiny_encoder)(inputs_for(name))) == EXPECTED_SHAPES[name]


@pytest.mark.parametrize("name", EXPECTED_SHAPES)
def test_config_keras_file_and_mixed_precision_contract(name, tiny_encoder):
    """Config and .keras round trips (identical outputs); float32 logits under mixed_float16 and mixed_bfloat16."""
    check_task(build(name, tiny_encoder), inputs_for(name))


def test_mlm_decoder_is_tied_to_word_embeddings(tiny_encoder):
    pretrainer = kbz.BertPretrainer(tiny_encoder)
    inputs = inputs_for("pretrainer")
    before = pretrainer(inputs)["mlm_logits"]
    embeddings = tiny_encoder.token_embedding.embeddings
    embeddings.assign(embeddings.numpy() * 2.0)
    after = pretrainer(inputs)["mlm_logits"]
    assert not np.allclose(before, after)
    # One variable serves both: the pretrainer adds no [hidden, vocab] decoder matrix of its own.
    assert not any(tuple(w.shape) == (16, 97) for w in pretrainer.weights)


def test_mlm_logits_follow_bert_formula(tiny_encoder):
    pretrainer = kbz.BertPretrainer(tiny_encoder)
    inputs = inputs_for("pretrainer")
    sequence = np.asarray(tiny_encoder({k: inputs[k] for k in make_inputs()})["sequence_output"])
    gathered = np.take_along_axis(sequence, inputs["mask_positions"][:, :, None], axis=1)
    head = pretrainer.mlm_head
    dense, norm = head._intermediate_dense, head._intermediate_layer_norm
    h = keras.ops.convert_to_numpy(keras.activations.gelu(gathered @ dense.kernel.numpy() + dense.bias.numpy()))
    h = (h - h.mean(-1, keepdims=True)) / np.sqrt(h.var(-1, keepdims=True) + 1e-12)
    h = h * norm.gamma.numpy() + norm.beta.numpy()
    expected = h @ tiny_encoder.token_embedding.embeddings.numpy().T + head._bias.numpy()
    np.testing.assert_allclose(pretrainer(inputs)["mlm_logits"], expected, atol=1e-4)


def test_span_qa_masks_padding_positions(tiny_encoder):
    inputs = make_inputs()
    out = kbz.BertSpanQA(tiny_encoder)(inputs)
    for logits in out.values():
        logits = np.asarray(logits)
        assert np.all(logits[inputs["padding_mask"] == 0] <= -1e8)
        assert np.all(np.abs(logits[inputs["padding_mask"] == 1]) < 1e3)


def test_multiple_choice_scores_each_choice_independently(tiny_encoder):
    model = kbz.BertMultipleChoice(tiny_encoder, num_choices=4)
    inputs = inputs_for("multiple_choice")
    logits = np.asarray(model(inputs))
    dense = model.get_layer("choice_score")
    for choice in range(4):
        pooled = tiny_encoder({k: v[:, choice] for k, v in inputs.items()})["pooled_output"]
        expected = np.asarray(pooled) @ dense.kernel.numpy() + dense.bias.numpy()
        np.testing.assert_allclose(logits[:, choice], expected[:, 0], atol=1e-5)


def test_classifier_trains_with_fit(tiny_encoder):
    model = kbz.BertClassifier(tiny_encoder, num_classes=2)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    inputs = make_inputs(batch=8, seq=6)
    labels = (inputs["token_ids"][:, 0] % 2).astype("int32")
    history = model.fit(inputs, labels, epochs=15, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_heads_need_a_backbone_and_a_known_head(tiny_encoder):
    with pytest.raises(TypeError, match="must be a backbone"):
        kbz.BertClassifier(keras.layers.Dense(3), num_classes=2)
    with pytest.raises(ValueError, match="head='dense_tanh' is not one of 'pooled', 'dense_relu'"):
        kbz.BertMultipleChoice(tiny_encoder, num_choices=2, head="dense_tanh")
    assert kbz.BertClassifier(tiny_encoder, num_classes=2).head == "pooled"  # BertEncoder's default


@pytest.mark.parametrize("head", ["dense_tanh", "dense_relu"])
def test_first_token_classifier_heads_follow_hugging_face(head, tiny_encoder):
    """RoBERTa's head: tanh(x W1 + b1) W2 + b2 on the first token; DistilBERT's: the same with relu."""
    model = kbz.BertClassifier(tiny_encoder, num_classes=3, head=head)
    inputs = make_inputs()
    first = np.asarray(tiny_encoder(inputs)["sequence_output"])[:, 0]
    dense, logits = model.get_layer("head_dense"), model.get_layer("logits")
    hidden = first @ np.asarray(dense.kernel) + np.asarray(dense.bias)
    hidden = np.tanh(hidden) if head == "dense_tanh" else np.maximum(hidden, 0)
    expected = hidden @ np.asarray(logits.kernel) + np.asarray(logits.bias)
    np.testing.assert_allclose(np.asarray(model(inputs)), expected, atol=1e-5)


def test_a_backbone_without_a_pooler_takes_first_token_heads_only(tiny_encoder):
    class SequenceOnly(Backbone):  # a DistilBERT-like backbone: no pooled_output
        default_classifier_head = default_multiple_choice_head = "dense_relu"

    inputs = {name: keras.Input((None,), dtype="int32", name=name) for name in tiny_encoder.input}
    backbone = SequenceOnly(inputs, {"sequence_output": tiny_encoder(inputs)["sequence_output"]})
    backbone.hidden_dim = tiny_encoder.hidden_dim
    assert kbz.BertClassifier(backbone, num_classes=2).head == "dense_relu"
    assert kbz.BertMultipleChoice(backbone, num_choices=2).head == "dense_relu"
    with pytest.raises(ValueError, match="head='pooled' needs a pooled_output; SequenceOnly has none"):
        kbz.BertClassifier(backbone, num_classes=2, head="pooled")
    with pytest.raises(ValueError, match="next_sentence=True needs a pooled_output; SequenceOnly has none"):
        kbz.BertPretrainer(backbone)
