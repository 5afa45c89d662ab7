import keras
import numpy as np
import pytest
from conftest import TINY, make_inputs
from helpers import check_layer

import keras_bert_zoo as kbz


def test_outputs_have_bert_shapes_for_any_batch_and_length(tiny_encoder):
    for batch, seq in [(1, 1), (3, 9), (5, 33)]:
        out = tiny_encoder(make_inputs(batch, seq))
        assert tuple(out["sequence_output"].shape) == (batch, seq, 16)
        assert tuple(out["pooled_output"].shape) == (batch, 16)


def test_pooled_output_is_tanh_dense_on_cls(tiny_encoder):
    out = tiny_encoder(make_inputs())
    dense = tiny_encoder.get_layer("pooled_dense")
    expected = np.tanh(out["sequence_output"][:, 0, :] @ dense.kernel.numpy() + dense.bias.numpy())
    np.testing.assert_allclose(out["pooled_output"], expected, atol=1e-6)


def test_padding_does_not_change_real_tokens(tiny_encoder):
    inputs = make_inputs(batch=1, seq=6)
    padded = {k: np.pad(v, [(0, 0), (0, 4)]) for k, v in inputs.items()}
    short = tiny_encoder(inputs)["sequence_output"]
    long = tiny_encoder(padded)["sequence_output"][:, :6]
    np.testing.assert_allclose(short, long, atol=1e-5)


def test_config_and_keras_file_round_trips_give_identical_outputs(tiny_encoder):
    check_layer(tiny_encoder, make_inputs(), {"sequence_output": (3, 9, 16), "pooled_output": (3, 16)})


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_policy_computes_in_half_precision(policy):
    keras.utils.set_random_seed(1)
    full = kbz.BertEncoder(**TINY)
    half = kbz.BertEncoder(**TINY, dtype=policy)
    half.set_weights(full.get_weights())
    assert all(w.dtype == "float32" for w in half.weights)  # variables stay float32
    inputs = make_inputs()
    out = half(inputs)["sequence_output"]
    assert out.dtype == policy.split("_")[1]
    reference = full(inputs)["sequence_output"]
    tolerance = 0.05 if policy == "mixed_float16" else 0.2
    np.testing.assert_allclose(np.asarray(out, "float32"), reference, atol=tolerance)


def test_approximate_gelu_is_a_different_function():
    keras.utils.set_random_seed(2)
    exact = kbz.BertEncoder(**TINY)
    approx = kbz.BertEncoder(**TINY, activation="gelu_approximate")
    approx.set_weights(exact.get_weights())
    inputs = make_inputs()
    diff = np.abs(exact(inputs)["sequence_output"] - approx(inputs)["sequence_output"]).max()
    assert 1e-7 < diff < 1e-2
    assert kbz.BertEncoder.from_config(approx.get_config()).activation == "gelu_approximate"


def test_heads_must_divide_hidden_size():
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        kbz.BertEncoder(97, 1, 3, 16, 32)
