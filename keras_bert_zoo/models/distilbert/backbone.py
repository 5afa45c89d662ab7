"""DistilBertEncoder: the DistilBERT transformer encoder (the family's backbone) as a functional Keras model."""

import keras
from keras_hub.layers import PositionEmbedding, ReversibleEmbedding, TransformerEncoder

from keras_bert_zoo.models.backbone import Backbone
from keras_bert_zoo.models.bert.backbone import bert_initializer
from keras_bert_zoo.models.pruned_layers import (
    PrunableEncoder,
    PrunedTransformerEncoder,
    check_intermediate_dims,
    check_pruned_heads,
    transformer_blocks,
)
from keras_bert_zoo.names import PADDING_MASK, TOKEN_IDS


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class DistilBertBlock(TransformerEncoder):
    """keras-hub's post-LayerNorm transformer block with DistilBERT's dropouts: `attention_dropout` on the
    attention probabilities, none on the attention output, `dropout` after the feed-forward.

    Written as a subclass because keras-hub's block has one rate for all three places; the weights and
    the inference computation are keras-hub's unchanged.

    Example:
    >>> import numpy as np
    >>> block = DistilBertBlock(num_heads=2, intermediate_dim=8, dropout=0.1, attention_dropout=0.2)
    >>> tuple(block(np.ones((1, 3, 4), "float32")).shape)
    (1, 3, 4)
    """

    def __init__(self, attention_dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.attention_dropout = attention_dropout

    def build(self, inputs_shape):
        rate, self.dropout = self.dropout, self.attention_dropout
        super().build(inputs_shape)  # its attention layer takes the rate of self.dropout
        self.dropout = rate
        self._self_attention_dropout = keras.layers.Dropout(0.0, dtype=self.dtype_policy, name="self_attention_dropout")
        self._feedforward_dropout = keras.layers.Dropout(rate, dtype=self.dtype_policy, name="feedforward_dropout")

    def get_config(self):
        return {**super().get_config(), "attention_dropout": self.attention_dropout}


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class PrunedDistilBertBlock(DistilBertBlock, PrunedTransformerEncoder):
    """A `DistilBertBlock` that lost heads to `kbz.compress.prune`: DistilBERT's dropouts, `num_heads` heads of
    `key_dim` each (`PrunedTransformerEncoder`'s build, which `DistilBertBlock.build` calls through).

    Example:
    >>> import numpy as np
    >>> block = PrunedDistilBertBlock(num_heads=1, key_dim=4, intermediate_dim=8, attention_dropout=0.2)
    >>> tuple(block(np.ones((1, 3, 16), "float32")).shape), tuple(block._self_attention_layer.key_dense.kernel.shape)
    ((1, 3, 16), (16, 1, 4))
    """


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class DistilBertEncoder(PrunableEncoder, Backbone):
    """The DistilBERT encoder: word and position embeddings, post-LayerNorm transformer blocks; no pooler
    and no token types.

    Inputs are a dict of int tensors `token_ids` and `padding_mask`, each [batch, seq] with both
    dimensions dynamic. The output is a dict with `sequence_output` [batch, seq, hidden_dim].

    Args:
        vocabulary_size: number of WordPiece tokens.
        num_layers, num_heads, hidden_dim, intermediate_dim: the transformer's shape.
        max_sequence_length: number of position embeddings (a checkpoint with sinusoidal ones stores the
            table in its weights, which load as they are).
        dropout: dropout rate for the embeddings and after each feed-forward block.
        attention_dropout: dropout rate for the attention probabilities.
        activation: feed-forward activation; "gelu" is the exact (erf) GELU.
        layer_norm_epsilon: epsilon of every LayerNorm (DistilBERT's is 1e-12).
        pruned_heads, intermediate_dims: what `kbz.compress.prune` removed, as `BertEncoder`'s
            (`keras_bert_zoo.models.pruned_layers`); None for an unpruned encoder.
        dtype: a dtype or `keras.DTypePolicy` (e.g. "mixed_bfloat16").

    Example:
    >>> import numpy as np
    >>> from keras_bert_zoo.models.distilbert import DistilBertEncoder
    >>> encoder = DistilBertEncoder(vocabulary_size=100, num_layers=2, num_heads=2,
    ...                             hidden_dim=32, intermediate_dim=64)
    >>> outputs = encoder({"token_ids": np.ones((2, 8), "int32"), "padding_mask": np.ones((2, 8), "int32")})
    >>> tuple(outputs["sequence_output"].shape)
    (2, 8, 32)
    """

    config_keys = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
                   "max_sequence_length", "dropout", "attention_dropout", "activation", "layer_norm_epsilon",
                   "pruned_heads", "intermediate_dims")
    default_classifier_head = "dense_relu"
    default_multiple_choice_head = "dense_relu"

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        max_sequence_length=512,
        dropout=0.1,
        attention_dropout=0.1,
        activation="gelu",
        layer_norm_epsilon=1e-12,
        pruned_heads=None,
        intermediate_dims=None,
        dtype=None,
        **kwargs,
    ):
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}.")
        pruned_heads = check_pruned_heads(pruned_heads, num_layers, num_heads)
        intermediate_dims = check_intermediate_dims(intermediate_dims, num_layers, intermediate_dim)
        # === Layers ===
        self.token_embedding = ReversibleEmbedding(
            vocabulary_size, hidden_dim, embeddings_initializer=bert_initializer(), dtype=dtype,
            name="token_embedding",
        )
        self.position_embedding = PositionEmbedding(
            max_sequence_length, initializer=bert_initializer(), dtype=dtype, name="position_embedding"
        )
        self.embeddings_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=dtype, name="embeddings_layer_norm"
        )
        self.embeddings_dropout = keras.layers.Dropout(dropout, dtype=dtype, name="embeddings_dropout")
        self.transformer_layers = transformer_blocks(
            num_layers, num_heads, hidden_dim, intermediate_dim, pruned_heads, intermediate_dims,
            block=DistilBertBlock, pruned_block=PrunedDistilBertBlock,
            activation=activation, dropout=dropout, attention_dropout=attention_dropout,
            layer_norm_epsilon=layer_norm_epsilon, dtype=dtype)

        # === Functional model ===
        token_ids = keras.Input(shape=(None,), dtype="int32", name=TOKEN_IDS)
        padding_mask = keras.Input(shape=(None,), dtype="int32", name=PADDING_MASK)
        tokens = self.token_embedding(token_ids)
        x = keras.layers.Add(dtype=dtype, name="embeddings_add")([tokens, self.position_embedding(tokens)])
        x = self.embeddings_dropout(self.embeddings_layer_norm(x))
        for layer in self.transformer_layers:
            x = layer(x, padding_mask=padding_mask)
        super().__init__(
            inputs={TOKEN_IDS: token_ids, PADDING_MASK: padding_mask},
            outputs={"sequence_output": x},
            dtype=dtype,
            **kwargs,
        )

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.max_sequence_length = max_sequence_length
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.pruned_heads = pruned_heads or None
        self.intermediate_dims = intermediate_dims
