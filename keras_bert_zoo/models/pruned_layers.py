"""The transformer blocks of an encoder that `kbz.compress.prune` made smaller, shared by every family whose
blocks are keras-hub `TransformerEncoder`s (BERT, RoBERTa / XLM-RoBERTa, ELECTRA, DistilBERT).

An encoder takes two config keys: `pruned_heads` ({layer: the indices, among `num_heads`, of the heads it lost})
and `intermediate_dims` (one feed-forward size per layer, None for `intermediate_dim` in all). A block that lost
heads keeps each head's size (hidden_dim / the original head count), so its heads no longer span the hidden
size; keras-hub's `TransformerEncoder` derives the head size from `hidden_dim // num_heads`.
`PrunedTransformerEncoder` builds the same sublayers, under the same names (so the weights keep their paths
and checkpoint names), with an explicit `key_dim`; its forward pass is keras-hub's. `transformer_blocks`
picks, layer by layer, the family's block or its pruned variant.

Example:
>>> import numpy as np
>>> block = PrunedTransformerEncoder(intermediate_dim=16, num_heads=1, key_dim=8)  # 1 of 4 heads of 8 kept
>>> tuple(block(np.ones((2, 5, 32), "float32")).shape)
(2, 5, 32)
>>> tuple(block._self_attention_layer.query_dense.kernel.shape)
(32, 1, 8)
>>> blocks = transformer_blocks(3, 4, 32, 64, {1: [0, 2]}, [64, 64, 10])
>>> [(type(b).__name__, b.num_heads, b.intermediate_dim) for b in blocks]
[('TransformerEncoder', 4, 64), ('PrunedTransformerEncoder', 2, 64), ('TransformerEncoder', 4, 10)]
"""

import keras
from keras_hub.layers import TransformerEncoder

from keras_bert_zoo.layers import get_activation


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


def transformer_blocks(num_layers, num_heads, hidden_dim, intermediate_dim, pruned_heads=None, intermediate_dims=None,
                       block=TransformerEncoder, pruned_block=PrunedTransformerEncoder, activation="gelu", **options):
    """Blocks "transformer_layer_0", ... of an encoder: `block(num_heads=..., intermediate_dim=..., **options)`,
    or `pruned_block` (with `key_dim`) for a layer that lost heads. `pruned_heads` and `intermediate_dims` as
    `check_pruned_heads` and `check_intermediate_dims` return them; `activation` is a config name (see
    `layers.get_activation`) and the kernels start as BERT's (truncated normal, stddev 0.02) unless
    `kernel_initializer` says otherwise."""
    options = {"kernel_initializer": keras.initializers.TruncatedNormal(stddev=0.02),
               "activation": get_activation(activation), **options}
    blocks = []
    for i in range(num_layers):
        lost = len((pruned_heads or {}).get(i, ()))
        shape = {"num_heads": num_heads}
        if lost:  # fewer heads of the original size
            shape = {"num_heads": num_heads - lost, "key_dim": hidden_dim // num_heads}
        blocks.append((pruned_block if lost else block)(
            **shape, intermediate_dim=intermediate_dims[i] if intermediate_dims else intermediate_dim,
            name=f"transformer_layer_{i}", **options))
    return blocks


def check_pruned_heads(pruned_heads, num_layers, num_heads):
    """`pruned_heads` as {int layer: sorted head indices} ({} for None; a config file's keys are strings),
    or a ValueError naming the entry that does not fit the encoder."""
    checked = {}
    for layer, heads in (pruned_heads or {}).items():
        layer, heads = int(layer), sorted({int(head) for head in heads})
        if not 0 <= layer < num_layers:
            raise ValueError(f"pruned_heads names layer {layer}; the encoder has layers 0..{num_layers - 1}.")
        if any(not 0 <= head < num_heads for head in heads):
            raise ValueError(f"pruned_heads[{layer}]={heads} names heads outside 0..{num_heads - 1}.")
        if len(heads) == num_heads:
            raise ValueError(f"pruned_heads[{layer}] removes all {num_heads} heads; keep one, or remove the layer.")
        if heads:
            checked[layer] = heads
    return checked


def check_intermediate_dims(intermediate_dims, num_layers, intermediate_dim):
    """`intermediate_dims` as a list of ints in 1..intermediate_dim, one per layer (None stays None), or a
    ValueError."""
    if intermediate_dims is None:
        return None
    intermediate_dims = [int(dim) for dim in intermediate_dims]
    if len(intermediate_dims) != num_layers or not all(0 < dim <= intermediate_dim for dim in intermediate_dims):
        raise ValueError(f"intermediate_dims={intermediate_dims} must hold one size in 1..{intermediate_dim} per "
                         f"layer ({num_layers} layers).")
    return intermediate_dims


class PrunableEncoder:
    """A backbone `kbz.compress.prune` can make smaller: it has the config keys `pruned_heads` and
    `intermediate_dims` and builds its blocks with `transformer_blocks`."""

    @property
    def is_pruned(self):
        """True when a layer lost heads or feed-forward neurons (`kbz.compress.prune`)."""
        return bool(self.pruned_heads) or self.intermediate_dims is not None
