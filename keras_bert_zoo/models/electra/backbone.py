"""ElectraEncoder: the ELECTRA transformer encoder (the family's backbone) as a functional Keras model."""

import keras
from keras_hub.layers import PositionEmbedding, ReversibleEmbedding

from keras_bert_zoo.models.backbone import Backbone
from keras_bert_zoo.models.bert.backbone import bert_initializer
from keras_bert_zoo.models.pruned_layers import (
    PrunableEncoder,
    check_intermediate_dims,
    check_pruned_heads,
    transformer_blocks,
)
from keras_bert_zoo.names import PADDING_MASK, SEGMENT_IDS, TOKEN_IDS


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class ElectraEmbeddings(keras.layers.Layer):
    """ELECTRA's embeddings of `embedding_dim`: word + position + token type, LayerNorm, dropout.

    One layer, so that an ELECTRA generator and discriminator can share all of it as the paper does
    (`ElectraEncoder(..., embeddings=other.embeddings)`). `token_embedding` is a keras-hub
    `ReversibleEmbedding`, which the tied masked-LM head reads back.

    Example:
    >>> import numpy as np
    >>> layer = ElectraEmbeddings(vocabulary_size=10, embedding_dim=4, max_sequence_length=8)
    >>> tuple(layer(np.ones((2, 3), "int32"), np.zeros((2, 3), "int32")).shape)
    (2, 3, 4)
    """

    def __init__(self, vocabulary_size, embedding_dim, max_sequence_length=512, num_segments=2, dropout=0.1,
                 layer_norm_epsilon=1e-12, **kwargs):
        super().__init__(**kwargs)
        self.token_embedding = ReversibleEmbedding(
            vocabulary_size, embedding_dim, embeddings_initializer=bert_initializer(), dtype=self.dtype_policy,
            name="token_embedding")
        self.position_embedding = PositionEmbedding(
            max_sequence_length, initializer=bert_initializer(), dtype=self.dtype_policy, name="position_embedding")
        self.segment_embedding = keras.layers.Embedding(
            num_segments, embedding_dim, embeddings_initializer=bert_initializer(), dtype=self.dtype_policy,
            name="segment_embedding")
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="layer_norm")
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy, name="dropout")
        self.vocabulary_size, self.embedding_dim = vocabulary_size, embedding_dim
        self.max_sequence_length, self.num_segments = max_sequence_length, num_segments
        self.dropout, self.layer_norm_epsilon = dropout, layer_norm_epsilon

    def build(self, token_ids_shape, segment_ids_shape=None):
        self.token_embedding.build(token_ids_shape)
        self.position_embedding.build((*token_ids_shape, self.embedding_dim))
        self.segment_embedding.build(token_ids_shape)
        self.layer_norm.build((*token_ids_shape, self.embedding_dim))
        self.built = True

    def call(self, token_ids, segment_ids, training=None):
        tokens = self.token_embedding(token_ids)
        x = tokens + self.position_embedding(tokens) + self.segment_embedding(segment_ids)
        return self.dropout_layer(self.layer_norm(x), training=training)

    def compute_output_shape(self, token_ids_shape, segment_ids_shape=None):
        return (*token_ids_shape, self.embedding_dim)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "embedding_dim": self.embedding_dim,
                "max_sequence_length": self.max_sequence_length, "num_segments": self.num_segments,
                "dropout": self.dropout, "layer_norm_epsilon": self.layer_norm_epsilon}


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class ElectraEncoder(PrunableEncoder, Backbone):
    """The ELECTRA encoder (discriminator or generator): BERT's embeddings at `embedding_dim`, a dense
    projection to `hidden_dim` where the two differ, BERT's post-LayerNorm blocks; no pooler.

    Inputs are a dict of int tensors `token_ids`, `segment_ids` and `padding_mask`, each [batch, seq]
    with both dimensions dynamic. The output is a dict with `sequence_output` [batch, seq, hidden_dim].
    The feed-forward activation is the checkpoint's `hidden_act`: "gelu" is the exact (erf) GELU that
    Hugging Face applies (keras-hub's own ELECTRA uses the tanh approximation).

    Args:
        vocabulary_size: number of WordPiece tokens.
        num_layers, num_heads, hidden_dim, intermediate_dim: the transformer's shape.
        embedding_dim: width of the embeddings (None: `hidden_dim`); "embeddings_project" maps them to
            `hidden_dim` when they differ, as Hugging Face's `embeddings_project`.
        max_sequence_length, num_segments: rows of the position and token-type tables.
        dropout: dropout rate for embeddings, attention probabilities and residual branches.
        activation: feed-forward activation (and the discriminator head's).
        layer_norm_epsilon: epsilon of every LayerNorm.
        pruned_heads, intermediate_dims: what `kbz.compress.prune` removed, as `BertEncoder`'s
            (`keras_bert_zoo.models.pruned_layers`); None for an unpruned encoder.
        embeddings: an `ElectraEmbeddings` layer to use instead of new ones (a generator sharing its
            discriminator's); not part of the config.
        dtype: a dtype or `keras.DTypePolicy` (e.g. "mixed_bfloat16").

    Example:
    >>> import numpy as np
    >>> from keras_bert_zoo.models.electra import ElectraEncoder
    >>> encoder = ElectraEncoder(vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=32,
    ...                          intermediate_dim=64, embedding_dim=16)
    >>> ids = np.ones((2, 8), "int32")
    >>> tuple(encoder({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids})["sequence_output"].shape)
    (2, 8, 32)
    """

    config_keys = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim", "embedding_dim",
                   "max_sequence_length", "num_segments", "dropout", "activation", "layer_norm_epsilon",
                   "pruned_heads", "intermediate_dims")
    # Hugging Face's heads: ElectraClassificationHead and the multiple-choice sequence summary, both a
    # hidden-size dense + exact GELU on the first token.
    default_classifier_head = "dense_gelu"
    default_multiple_choice_head = "dense_gelu"
    # ElectraGeneratorPredictions applies the exact GELU whatever `hidden_act` says (BertPretrainer reads this).
    mlm_activation = "gelu"

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        embedding_dim=None,
        max_sequence_length=512,
        num_segments=2,
        dropout=0.1,
        activation="gelu",
        layer_norm_epsilon=1e-12,
        pruned_heads=None,
        intermediate_dims=None,
        embeddings=None,
        dtype=None,
        **kwargs,
    ):
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}.")
        embedding_dim = embedding_dim or hidden_dim
        pruned_heads = check_pruned_heads(pruned_heads, num_layers, num_heads)
        intermediate_dims = check_intermediate_dims(intermediate_dims, num_layers, intermediate_dim)
        # === Layers ===
        if embeddings is None:
            embeddings = ElectraEmbeddings(vocabulary_size, embedding_dim, max_sequence_length, num_segments,
                                           dropout, layer_norm_epsilon, dtype=dtype, name="embeddings")
        shape = (embeddings.vocabulary_size, embeddings.embedding_dim, embeddings.max_sequence_length,
                 embeddings.num_segments)
        if shape != (vocabulary_size, embedding_dim, max_sequence_length, num_segments):
            raise ValueError(f"The shared embeddings (vocabulary, width, positions, segments) are {shape}, this "
                             f"encoder's {(vocabulary_size, embedding_dim, max_sequence_length, num_segments)}.")
        self.embeddings = embeddings
        self.embeddings_project = None
        if embedding_dim != hidden_dim:
            self.embeddings_project = keras.layers.Dense(
                hidden_dim, kernel_initializer=bert_initializer(), dtype=dtype, name="embeddings_project")
        self.transformer_layers = transformer_blocks(
            num_layers, num_heads, hidden_dim, intermediate_dim, pruned_heads, intermediate_dims,
            activation=activation, dropout=dropout, layer_norm_epsilon=layer_norm_epsilon, dtype=dtype)

        # === Functional model ===
        token_ids = keras.Input(shape=(None,), dtype="int32", name=TOKEN_IDS)
        segment_ids = keras.Input(shape=(None,), dtype="int32", name=SEGMENT_IDS)
        padding_mask = keras.Input(shape=(None,), dtype="int32", name=PADDING_MASK)
        x = self.embeddings(token_ids, segment_ids)
        if self.embeddings_project is not None:
            x = self.embeddings_project(x)
        for layer in self.transformer_layers:
            x = layer(x, padding_mask=padding_mask)
        super().__init__(
            inputs={TOKEN_IDS: token_ids, SEGMENT_IDS: segment_ids, PADDING_MASK: padding_mask},
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
        self.embedding_dim = embedding_dim
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.dropout = dropout
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.pruned_heads = pruned_heads or None
        self.intermediate_dims = intermediate_dims

    @property
    def token_embedding(self):
        """The word embeddings (a `ReversibleEmbedding`), which the masked-LM head is tied to."""
        return self.embeddings.token_embedding
