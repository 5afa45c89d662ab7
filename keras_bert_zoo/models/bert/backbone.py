"""BertEncoder: the BERT transformer encoder (the BERT family's backbone) as a functional Keras model."""

import keras
from keras_hub.layers import PositionEmbedding, ReversibleEmbedding

from keras_bert_zoo.models.backbone import Backbone
from keras_bert_zoo.models.pruned_layers import (
    PrunableEncoder,
    check_intermediate_dims,
    check_pruned_heads,
    transformer_blocks,
)
from keras_bert_zoo.names import PADDING_MASK, SEGMENT_IDS, TOKEN_IDS


def bert_initializer():
    """BERT's weight initializer: truncated normal, stddev 0.02."""
    return keras.initializers.TruncatedNormal(stddev=0.02)


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertEncoder(PrunableEncoder, Backbone):
    """The BERT encoder: embeddings, post-LayerNorm transformer blocks and the [CLS] pooler.

    Inputs are a dict of int tensors `token_ids`, `segment_ids` and `padding_mask`, each
    [batch, seq] with both dimensions dynamic. Outputs are a dict with `sequence_output`
    [batch, seq, hidden_dim] and `pooled_output` [batch, hidden_dim] (tanh dense on [CLS]).

    Args:
        vocabulary_size: number of WordPiece tokens.
        num_layers, num_heads, hidden_dim, intermediate_dim: the transformer's shape.
        max_sequence_length: number of learned position embeddings.
        num_segments: number of segment (token type) embeddings.
        dropout: dropout rate for embeddings, attention probabilities and residual branches.
        activation: feed-forward activation; "gelu" is BERT's exact (erf) GELU.
        layer_norm_epsilon: epsilon of every LayerNorm.
        pruned_heads: {layer index: the indices (among its `num_heads`) of the heads it lost}, set by
            `kbz.compress.prune`; the other heads keep their size, hidden_dim / num_heads.
        intermediate_dims: one feed-forward size per layer (pruned neurons), None for `intermediate_dim` in all.
        dtype: a dtype or `keras.DTypePolicy` (e.g. "mixed_bfloat16").

    Example:
    >>> import numpy as np, keras_bert_zoo as kbz
    >>> encoder = kbz.BertEncoder(vocabulary_size=100, num_layers=2, num_heads=2,
    ...                           hidden_dim=32, intermediate_dim=64)
    >>> outputs = encoder({"token_ids": np.ones((2, 8), "int32"),
    ...                    "segment_ids": np.zeros((2, 8), "int32"),
    ...                    "padding_mask": np.ones((2, 8), "int32")})
    >>> tuple(outputs["pooled_output"].shape)
    (2, 32)
    """

    config_keys = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
                   "max_sequence_length", "num_segments", "dropout", "activation", "layer_norm_epsilon",
                   "pruned_heads", "intermediate_dims")
    # The heads Hugging Face's BERT classes put on it (see BertClassifier, BertMultipleChoice).
    default_classifier_head = "pooled"
    default_multiple_choice_head = "pooled"

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        max_sequence_length=512,
        num_segments=2,
        dropout=0.1,
        activation="gelu",
        layer_norm_epsilon=1e-12,
        pruned_heads=None,
        intermediate_dims=None,
        dtype=None,
        **kwargs,
    ):
        if hidden_dim % num_heads:
            raise ValueError(
                f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}."
            )
        pruned_heads = check_pruned_heads(pruned_heads, num_layers, num_heads)
        intermediate_dims = check_intermediate_dims(intermediate_dims, num_layers, intermediate_dim)
        # === Layers ===
        self.token_embedding = ReversibleEmbedding(
            vocabulary_size,
            hidden_dim,
            embeddings_initializer=bert_initializer(),
            dtype=dtype,
            name="token_embedding",
        )
        self.position_embedding = PositionEmbedding(
            max_sequence_length,
            initializer=bert_initializer(),
            dtype=dtype,
            name="position_embedding",
        )
        self.segment_embedding = keras.layers.Embedding(
            num_segments,
            hidden_dim,
            embeddings_initializer=bert_initializer(),
            dtype=dtype,
            name="segment_embedding",
        )
        self.embeddings_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=dtype, name="embeddings_layer_norm"
        )
        self.embeddings_dropout = keras.layers.Dropout(
            dropout, dtype=dtype, name="embeddings_dropout"
        )
        self.transformer_layers = transformer_blocks(
            num_layers, num_heads, hidden_dim, intermediate_dim, pruned_heads, intermediate_dims,
            activation=activation, dropout=dropout, layer_norm_epsilon=layer_norm_epsilon, dtype=dtype)
        self.pooled_dense = keras.layers.Dense(
            hidden_dim,
            activation="tanh",
            kernel_initializer=bert_initializer(),
            dtype=dtype,
            name="pooled_dense",
        )

        # === Functional model ===
        token_ids = keras.Input(shape=(None,), dtype="int32", name=TOKEN_IDS)
        segment_ids = keras.Input(shape=(None,), dtype="int32", name=SEGMENT_IDS)
        padding_mask = keras.Input(shape=(None,), dtype="int32", name=PADDING_MASK)
        tokens = self.token_embedding(token_ids)
        x = keras.layers.Add(dtype=dtype, name="embeddings_add")(
            [tokens, self.position_embedding(tokens), self.segment_embedding(segment_ids)]
        )
        x = self.embeddings_dropout(self.embeddings_layer_norm(x))
        for layer in self.transformer_layers:
            x = layer(x, padding_mask=padding_mask)
        super().__init__(
            inputs={TOKEN_IDS: token_ids, SEGMENT_IDS: segment_ids, PADDING_MASK: padding_mask},
            outputs={"sequence_output": x, "pooled_output": self.pooled_dense(x[:, 0, :])},
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
        self.num_segments = num_segments
        self.dropout = dropout
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.pruned_heads = pruned_heads or None
        self.intermediate_dims = intermediate_dims
