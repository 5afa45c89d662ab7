"""DebertaBlock: one post-LayerNorm transformer layer of DeBERTa around its disentangled self-attention."""

import keras

from keras_bert_zoo.layers import get_activation
from keras_bert_zoo.models.deberta.attention import POSITION_TERMS, DisentangledSelfAttention


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class DebertaBlock(keras.layers.Layer):
    """Attention, dense, dropout, residual, LayerNorm; then dense, activation, dense, dropout, residual,
    LayerNorm (BERT's layer; transformers' `DebertaV2Layer`). `call(hidden, padding_mask, table)`: `table`
    is the relative position table (`RelativeEmbedding`); the attention options are
    `DisentangledSelfAttention`'s. `return_attention_scores=True` also returns the attention
    probabilities, as keras-hub's `TransformerEncoder` does.

    Written as its own layer because keras-hub's `TransformerEncoder` takes no other attention.

    Example:
    >>> import numpy as np
    >>> block = DebertaBlock(num_heads=2, intermediate_dim=16, position_buckets=4, max_relative_positions=16)
    >>> tuple(block(np.ones((1, 5, 8), "float32"), np.ones((1, 5), "int32"), np.ones((8, 8), "float32")).shape)
    (1, 5, 8)
    """

    def __init__(self, num_heads, intermediate_dim, activation="gelu", dropout=0.1, attention_dropout=0.1,
                 layer_norm_epsilon=1e-7, position_terms=POSITION_TERMS, share_att_key=True, position_buckets=256,
                 max_relative_positions=512, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.intermediate_dim, self.activation = num_heads, intermediate_dim, activation
        self.dropout, self.attention_dropout, self.layer_norm_epsilon = dropout, attention_dropout, layer_norm_epsilon
        self.position_terms, self.share_att_key = tuple(position_terms), share_att_key
        self.position_buckets, self.max_relative_positions = position_buckets, max_relative_positions
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        policy = self.dtype_policy
        self.self_attention = DisentangledSelfAttention(
            num_heads, position_terms, share_att_key, position_buckets, max_relative_positions,
            dropout=attention_dropout, position_dropout=dropout, kernel_initializer=self.kernel_initializer,
            dtype=policy, name="self_attention",
        )
        self.attention_dropout_layer = keras.layers.Dropout(dropout, dtype=policy)
        self.output_dropout = keras.layers.Dropout(dropout, dtype=policy)
        self.attention_layer_norm = keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, dtype=policy,
                                                                    name="attention_layer_norm")
        self.output_layer_norm = keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, dtype=policy,
                                                                 name="output_layer_norm")

    def build(self, hidden_shape, padding_mask_shape=None, table_shape=None):
        hidden_dim = hidden_shape[-1]

        def dense(name, units, activation=None):
            return keras.layers.Dense(units, activation=activation, kernel_initializer=self.kernel_initializer,
                                      dtype=self.dtype_policy, name=name)

        self.self_attention.build(hidden_shape)
        self.attention_output = dense("attention_output", hidden_dim)
        self.intermediate_dense = dense("intermediate_dense", self.intermediate_dim, get_activation(self.activation))
        self.output_dense = dense("output_dense", hidden_dim)
        self.attention_output.build(hidden_shape)
        self.attention_layer_norm.build(hidden_shape)
        self.intermediate_dense.build(hidden_shape)
        self.output_dense.build((*hidden_shape[:-1], self.intermediate_dim))
        self.output_layer_norm.build(hidden_shape)

    def call(self, hidden, padding_mask, table, training=None, return_attention_scores=False):
        context = self.self_attention(hidden, padding_mask, table, training=training,
                                      return_attention_scores=return_attention_scores)
        if return_attention_scores:
            context, probabilities = context
        x = self.attention_dropout_layer(self.attention_output(context), training=training)
        x = self.attention_layer_norm(x + hidden)
        y = self.output_dropout(self.output_dense(self.intermediate_dense(x)), training=training)
        y = self.output_layer_norm(y + x)
        return (y, probabilities) if return_attention_scores else y

    def compute_output_shape(self, hidden_shape, padding_mask_shape=None, table_shape=None):
        return hidden_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "intermediate_dim": self.intermediate_dim,
                "activation": self.activation, "dropout": self.dropout, "attention_dropout": self.attention_dropout,
                "layer_norm_epsilon": self.layer_norm_epsilon, "position_terms": list(self.position_terms),
                "share_att_key": self.share_att_key, "position_buckets": self.position_buckets,
                "max_relative_positions": self.max_relative_positions,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}
