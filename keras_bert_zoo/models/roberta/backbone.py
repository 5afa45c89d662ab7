"""RobertaEncoder and XLMRobertaEncoder: the RoBERTa family's backbones as functional Keras models."""

import keras
from keras import ops
from keras_hub.layers import ReversibleEmbedding

from keras_bert_zoo.layers import get_activation
from keras_bert_zoo.models.backbone import Backbone
from keras_bert_zoo.models.bert.backbone import bert_initializer
from keras_bert_zoo.models.pruned_layers import (
    PrunableEncoder,
    check_intermediate_dims,
    check_pruned_heads,
    transformer_blocks,
)
from keras_bert_zoo.names import PADDING_MASK, TOKEN_IDS


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class RobertaEncoder(PrunableEncoder, Backbone):
    """The RoBERTa encoder: BERT's network without segments, positions counted from the padding mask.

    Inputs are a dict of int tensors `token_ids` and `padding_mask`, each [batch, seq] with both
    dimensions dynamic. Outputs are a dict with `sequence_output` [batch, seq, hidden_dim] and
    `pooled_output` [batch, hidden_dim] (tanh dense on the first token, `<s>`).

    As in fairseq and Hugging Face, a real token's position id is `pad_id` + its rank among the real
    tokens of its row (the first is `pad_id + 1`) and padding gets `pad_id`: left- and right-padded
    rows give the same outputs for their tokens. The single token-type embedding row is added to
    every token. The position table has `max_sequence_length + pad_id + 1` rows (514 for RoBERTa).

    Args:
        vocabulary_size: number of tokens.
        num_layers, num_heads, hidden_dim, intermediate_dim: the transformer's shape.
        max_sequence_length: the longest input (512 for RoBERTa, whose config says 514 positions).
        pad_id: the padding token's id (1), which position ids start after.
        dropout: dropout rate for embeddings, attention probabilities and residual branches.
        activation: feed-forward activation; "gelu" is the exact (erf) GELU.
        layer_norm_epsilon: epsilon of every LayerNorm (1e-5).
        pruned_heads, intermediate_dims: what `kbz.compress.prune` removed, as `BertEncoder`'s
            (`keras_bert_zoo.models.pruned_layers`); None for an unpruned encoder.
        dtype: a dtype or `keras.DTypePolicy` (e.g. "mixed_bfloat16").

    Example:
    >>> import numpy as np
    >>> from keras_bert_zoo.models.roberta import RobertaEncoder
    >>> encoder = RobertaEncoder(vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=32,
    ...                          intermediate_dim=64)
    >>> outputs = encoder({"token_ids": np.full((2, 8), 5, "int32"), "padding_mask": np.ones((2, 8), "int32")})
    >>> tuple(outputs["sequence_output"].shape)
    (2, 8, 32)
    """

    config_keys = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
                   "max_sequence_length", "pad_id", "dropout", "activation", "layer_norm_epsilon",
                   "pruned_heads", "intermediate_dims")
    # The heads Hugging Face's RoBERTa classes put on it (see BertClassifier, BertMultipleChoice).
    default_classifier_head = "dense_tanh"
    default_multiple_choice_head = "pooled"
    # RobertaLMHead applies the exact GELU whatever `hidden_act` says (BertPretrainer reads this).
    mlm_activation = "gelu"

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        max_sequence_length=512,
        pad_id=1,
        dropout=0.1,
        activation="gelu",
        layer_norm_epsilon=1e-5,
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
        # A plain embedding: keras-hub's PositionEmbedding counts 0, 1, 2, ... whatever the padding.
        self.position_embedding = keras.layers.Embedding(
            max_sequence_length + pad_id + 1, hidden_dim, embeddings_initializer=bert_initializer(), dtype=dtype,
            name="position_embedding",
        )
        self.segment_embedding = keras.layers.Embedding(  # one row, added to every token
            1, hidden_dim, embeddings_initializer=bert_initializer(), dtype=dtype, name="segment_embedding"
        )
        self.embeddings_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=dtype, name="embeddings_layer_norm"
        )
        self.embeddings_dropout = keras.layers.Dropout(dropout, dtype=dtype, name="embeddings_dropout")
        self.transformer_layers = transformer_blocks(
            num_layers, num_heads, hidden_dim, intermediate_dim, pruned_heads, intermediate_dims,
            activation=get_activation(activation),
            dropout=dropout,
            layer_norm_epsilon=layer_norm_epsilon,
            kernel_initializer=bert_initializer(),
            dtype=dtype,
        )
        self.pooled_dense = keras.layers.Dense(
            hidden_dim, activation="tanh", kernel_initializer=bert_initializer(), dtype=dtype, name="pooled_dense"
        )

        # === Functional model ===
        token_ids = keras.Input(shape=(None,), dtype="int32", name=TOKEN_IDS)
        padding_mask = keras.Input(shape=(None,), dtype="int32", name=PADDING_MASK)
        is_token = ops.cast(ops.not_equal(padding_mask, 0), "int32")
        position_ids = ops.cumsum(is_token, axis=1) * is_token + pad_id
        x = keras.layers.Add(dtype=dtype, name="embeddings_add")([
            self.token_embedding(token_ids),
            self.position_embedding(position_ids),
            self.segment_embedding(ops.zeros_like(token_ids)),
        ])
        x = self.embeddings_dropout(self.embeddings_layer_norm(x))
        for layer in self.transformer_layers:
            x = layer(x, padding_mask=padding_mask)
        super().__init__(
            inputs={TOKEN_IDS: token_ids, PADDING_MASK: padding_mask},
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
        self.pad_id = pad_id
        self.dropout = dropout
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.pruned_heads = pruned_heads or None
        self.intermediate_dims = intermediate_dims


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class XLMRobertaEncoder(RobertaEncoder):
    """XLM-RoBERTa's encoder: RoBERTa's network (a SentencePiece vocabulary of 250,002 tokens in the
    public checkpoints); its own class so that saving knows the family (`xlm-roberta`).

    Example:
    >>> import numpy as np
    >>> from keras_bert_zoo.models.roberta import XLMRobertaEncoder
    >>> encoder = XLMRobertaEncoder(100, 2, 2, 32, 64)
    >>> ids = np.array([[0, 7, 2, 1]], "int32")
    >>> tuple(encoder({"token_ids": ids, "padding_mask": (ids != 1).astype("int32")})["pooled_output"].shape)
    (1, 32)
    """
