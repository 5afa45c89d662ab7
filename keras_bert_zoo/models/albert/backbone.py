"""AlbertEncoder: the ALBERT encoder (factorized embeddings, blocks shared across depth) as a functional Keras
model."""

import keras
from keras_hub.layers import PositionEmbedding, ReversibleEmbedding, TransformerEncoder

from keras_bert_zoo.layers import get_activation
from keras_bert_zoo.models.backbone import Backbone
from keras_bert_zoo.models.bert.backbone import bert_initializer
from keras_bert_zoo.names import PADDING_MASK, SEGMENT_IDS, TOKEN_IDS


def group_of_layer(layer, num_layers, num_groups):
    """The group whose blocks run at depth `layer`, computed as transformers' AlbertTransformer does.

    >>> [group_of_layer(i, 12, 1) for i in (0, 11)], [group_of_layer(i, 5, 2) for i in range(5)]
    ([0, 0], [0, 0, 0, 1, 1])
    """
    return int(layer / (num_layers / num_groups))


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class AlbertEncoder(Backbone):
    """The ALBERT encoder: BERT's network with factorized embeddings and blocks shared across depth.

    Word, position and segment embeddings have `embedding_dim` features; after their LayerNorm and
    dropout a dense layer projects them to `hidden_dim`. The blocks (post-LayerNorm transformer
    blocks, BERT's) come in `num_groups` groups of `inner_group_num` blocks; depth `i` (of
    `num_layers`) runs group `int(i / (num_layers / num_groups))`, so one group's weights serve several
    depths (ALBERT v2: one group of one block, run 12 to 24 times). Inputs are a dict of int tensors
    `token_ids`, `segment_ids` and `padding_mask`, each [batch, seq] with both dimensions dynamic.
    Outputs are a dict with `sequence_output` [batch, seq, hidden_dim] and `pooled_output`
    [batch, hidden_dim] (tanh dense on [CLS]).

    Args:
        vocabulary_size: number of SentencePiece tokens.
        num_layers: the depth (how many blocks run, shared ones counted each time).
        num_heads, hidden_dim, intermediate_dim: each block's shape.
        embedding_dim: the embeddings' width (128 in the public checkpoints).
        num_groups: number of groups of blocks with their own weights (HF `num_hidden_groups`).
        inner_group_num: blocks per group (HF `inner_group_num`).
        max_sequence_length: number of learned position embeddings.
        num_segments: number of segment (token type) embeddings.
        dropout: dropout rate for embeddings, attention probabilities and residual branches (0 in ALBERT v2).
        activation: feed-forward activation; ALBERT's "gelu_new" is "gelu_approximate".
        layer_norm_epsilon: epsilon of every LayerNorm.
        dtype: a dtype or `keras.DTypePolicy` (e.g. "mixed_bfloat16").

    Example:
    >>> import numpy as np
    >>> from keras_bert_zoo.models.albert import AlbertEncoder
    >>> encoder = AlbertEncoder(vocabulary_size=100, num_layers=4, num_heads=2, hidden_dim=32,
    ...                         intermediate_dim=64, embedding_dim=16)
    >>> ids = np.ones((2, 8), "int32")
    >>> outputs = encoder({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids})
    >>> tuple(outputs["sequence_output"].shape), len(encoder.transformer_layers)  # 4 layers, 1 block's weights
    ((2, 8, 32), 1)
    """

    config_keys = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim", "embedding_dim",
                   "num_groups", "inner_group_num", "max_sequence_length", "num_segments", "dropout", "activation",
                   "layer_norm_epsilon")
    default_classifier_head = "pooled"
    default_multiple_choice_head = "pooled"

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        embedding_dim=128,
        num_groups=1,
        inner_group_num=1,
        max_sequence_length=512,
        num_segments=2,
        dropout=0.0,
        activation="gelu_approximate",
        layer_norm_epsilon=1e-12,
        dtype=None,
        **kwargs,
    ):
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}.")
        if not 1 <= num_groups <= num_layers:
            raise ValueError(f"num_groups={num_groups} must be between 1 and num_layers={num_layers}.")
        if inner_group_num < 1:
            raise ValueError(f"inner_group_num={inner_group_num} must be at least 1.")
        # === Layers ===
        self.token_embedding = ReversibleEmbedding(
            vocabulary_size, embedding_dim, embeddings_initializer=bert_initializer(), dtype=dtype,
            name="token_embedding",
        )
        self.position_embedding = PositionEmbedding(
            max_sequence_length, initializer=bert_initializer(), dtype=dtype, name="position_embedding"
        )
        self.segment_embedding = keras.layers.Embedding(
            num_segments, embedding_dim, embeddings_initializer=bert_initializer(), dtype=dtype,
            name="segment_embedding",
        )
        self.embeddings_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=dtype, name="embeddings_layer_norm"
        )
        self.embeddings_dropout = keras.layers.Dropout(dropout, dtype=dtype, name="embeddings_dropout")
        self.embedding_projection = keras.layers.Dense(
            hidden_dim, kernel_initializer=bert_initializer(), dtype=dtype, name="embedding_projection"
        )
        # Group g's blocks are transformer_layers[g * inner_group_num : (g + 1) * inner_group_num].
        self.transformer_layers = [
            TransformerEncoder(
                num_heads=num_heads,
                intermediate_dim=intermediate_dim,
                activation=get_activation(activation),
                dropout=dropout,
                layer_norm_epsilon=layer_norm_epsilon,
                kernel_initializer=bert_initializer(),
                dtype=dtype,
                name=f"group_{group}_layer_{inner}",
            )
            for group in range(num_groups)
            for inner in range(inner_group_num)
        ]
        self.pooled_dense = keras.layers.Dense(
            hidden_dim, activation="tanh", kernel_initializer=bert_initializer(), dtype=dtype, name="pooled_dense"
        )

        # === Functional model ===
        token_ids = keras.Input(shape=(None,), dtype="int32", name=TOKEN_IDS)
        segment_ids = keras.Input(shape=(None,), dtype="int32", name=SEGMENT_IDS)
        padding_mask = keras.Input(shape=(None,), dtype="int32", name=PADDING_MASK)
        tokens = self.token_embedding(token_ids)
        x = keras.layers.Add(dtype=dtype, name="embeddings_add")(
            [tokens, self.position_embedding(tokens), self.segment_embedding(segment_ids)]
        )
        x = self.embedding_projection(self.embeddings_dropout(self.embeddings_layer_norm(x)))
        for depth in range(num_layers):  # the same layer objects, called again: shared weights
            group = group_of_layer(depth, num_layers, num_groups)
            for layer in self.transformer_layers[group * inner_group_num:(group + 1) * inner_group_num]:
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
        self.embedding_dim = embedding_dim
        self.num_groups = num_groups
        self.inner_group_num = inner_group_num
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.dropout = dropout
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
