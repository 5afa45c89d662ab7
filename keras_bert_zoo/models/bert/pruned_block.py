"""PrunedTransformerEncoder: keras-hub's post-LayerNorm transformer block with fewer heads and a set head size.

A block that lost attention heads to pruning keeps each head's size (hidden_dim / the original head count),
so its heads no longer span the hidden size; keras-hub's `TransformerEncoder` derives the head size from
`hidden_dim // num_heads`. This subclass builds the same sublayers, under the same names (so the weights
keep their paths and checkpoint names), with an explicit `key_dim`; its forward pass is keras-hub's.

Example:
>>> import numpy as np
>>> block = PrunedTransformerEncoder(intermediate_dim=16, num_heads=1, key_dim=8)  # 1 of 4 heads of 8 kept
>>> tuple(block(np.ones((2, 5, 32), "float32")).shape)
(2, 5, 32)
>>> tuple(block._self_attention_layer.query_dense.kernel.shape)
(32, 1, 8)
"""

import keras
from keras_hub.layers import TransformerEncoder


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class PrunedTransformerEncoder(TransformerEncoder):
    """keras-hub's `TransformerEncoder` with `num_heads` heads of `key_dim` each (any product)."""

    def __init__(self, intermediate_dim, num_heads, key_dim, **kwargs):
        super().__init__(intermediate_dim, num_heads, **kwargs)
        self.key_dim = key_dim

    def build(self, inputs_shape):
        # Written here (not inherited) because the parent's build fixes key_dim = hidden_dim // num_heads.
        hidden_dim = inputs_shape[-1]
        intermediate_shape = (*inputs_shape[:-1], self.intermediate_dim)

        def initializers():
            return {"kernel_initializer": keras.initializers.get(keras.initializers.serialize(self.kernel_initializer)),
                    "bias_initializer": keras.initializers.get(keras.initializers.serialize(self.bias_initializer))}

        def layer_norm(name):
            norm = keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name)
            norm.build(inputs_shape)
            return norm

        self._self_attention_layer = keras.layers.MultiHeadAttention(
            num_heads=self.num_heads, key_dim=self.key_dim, dropout=self.dropout, **initializers(),
            dtype=self.dtype_policy, name="self_attention_layer")
        self._self_attention_layer.build(query_shape=inputs_shape, value_shape=inputs_shape)
        self._self_attention_layer_norm = layer_norm("self_attention_layer_norm")
        self._self_attention_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy,
                                                            name="self_attention_dropout")
        self._feedforward_layer_norm = layer_norm("feedforward_layer_norm")
        self._feedforward_intermediate_dense = keras.layers.Dense(
            self.intermediate_dim, activation=self.activation, **initializers(), dtype=self.dtype_policy,
            name="feedforward_intermediate_dense")
        self._feedforward_intermediate_dense.build(inputs_shape)
        self._feedforward_output_dense = keras.layers.Dense(
            hidden_dim, **initializers(), dtype=self.dtype_policy, name="feedforward_output_dense")
        self._feedforward_output_dense.build(intermediate_shape)
        self._feedforward_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy,
                                                         name="feedforward_dropout")
        self.built = True

    def get_config(self):
        return {**super().get_config(), "key_dim": self.key_dim}
