"""DebertaV3Encoder: the DeBERTa-v2/v3 encoder (the family's backbone) as a functional Keras model."""

import keras
from keras import ops
from keras_hub.layers import PositionEmbedding, ReversibleEmbedding

from keras_bert_zoo.models.backbone import Backbone
from keras_bert_zoo.models.bert.backbone import bert_initializer
from keras_bert_zoo.models.deberta.attention import POSITION_TERMS, RelativeEmbedding
from keras_bert_zoo.models.deberta.block import DebertaBlock
from keras_bert_zoo.names import PADDING_MASK, SEGMENT_IDS, TOKEN_IDS


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class DebertaV3Encoder(Backbone):
    """The DeBERTa-v3 encoder (transformers' `DebertaV2Model`): word embeddings (absolute positions and
    token types only where the config has them), LayerNorm, the embeddings of padding set to zero, then
    post-LayerNorm blocks of disentangled self-attention (`attention.py`) sharing one relative position
    table. No pooler: the classification heads put their own dense on the first token ([CLS]).

    Inputs are a dict of int tensors `token_ids`, `padding_mask` (and `segment_ids` when
    `num_segments` > 0), each [batch, seq] with both dimensions dynamic. The output is a dict with
    `sequence_output` [batch, seq, hidden_dim].

    Args:
        vocabulary_size: number of tokens (128,100 in the public v3 checkpoints).
        num_layers, num_heads, hidden_dim, intermediate_dim: the transformer's shape.
        max_sequence_length: `max_position_embeddings` (the absolute table's rows, when there is one).
        embedding_dim: the word embeddings' width, projected to hidden_dim when they differ (None: hidden_dim).
        num_segments: token types (0 in v3: no `segment_ids` input).
        position_biased_input: add absolute position embeddings (False in v3).
        relative_attention: use the relative position terms at all (True in v3).
        position_terms: subset of ("c2p", "p2c"), the config's `pos_att_type`.
        position_buckets: log buckets of relative distances (256 in v3; 0: none).
        max_relative_positions: longest relative distance; -1 means max_sequence_length.
        share_att_key: the position terms reuse the content query/key projections (v3).
        norm_relative_embeddings: LayerNorm the relative table (v3's norm_rel_ebd="layer_norm").
        dropout: hidden dropout (embeddings, residual branches, relative table); `attention_dropout`: on
            the attention probabilities.
        activation: feed-forward activation; "gelu" is the exact (erf) GELU.
        layer_norm_epsilon: epsilon of every LayerNorm (1e-7).
        dtype: a dtype or `keras.DTypePolicy` (e.g. "mixed_bfloat16").

    Example:
    >>> import numpy as np
    >>> from keras_bert_zoo.models.deberta import DebertaV3Encoder
    >>> encoder = DebertaV3Encoder(vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=32,
    ...                            intermediate_dim=64, position_buckets=8)
    >>> outputs = encoder({"token_ids": np.ones((2, 20), "int32"), "padding_mask": np.ones((2, 20), "int32")})
    >>> tuple(outputs["sequence_output"].shape)
    (2, 20, 32)
    """

    config_keys = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
                   "max_sequence_length", "embedding_dim", "num_segments", "position_biased_input",
                   "relative_attention", "position_terms", "position_buckets", "max_relative_positions",
                   "share_att_key", "norm_relative_embeddings", "dropout", "attention_dropout", "activation",
                   "layer_norm_epsilon")
    # transformers' ContextPooler (dropout, dense, gelu) then dropout and the classifier.
    default_classifier_head = "dense_gelu"
    default_multiple_choice_head = "dense_gelu"

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        max_sequence_length=512,
        embedding_dim=None,
        num_segments=0,
        position_biased_input=False,
        relative_attention=True,
        position_terms=POSITION_TERMS,
        position_buckets=256,
        max_relative_positions=-1,
        share_att_key=True,
        norm_relative_embeddings=True,
        dropout=0.1,
        attention_dropout=0.1,
        activation="gelu",
        layer_norm_epsilon=1e-7,
        dtype=None,
        **kwargs,
    ):
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}.")
        embedding_dim = embedding_dim or hidden_dim
        reach = max_relative_positions if max_relative_positions > 0 else max_sequence_length
        # === Layers ===
        self.token_embedding = ReversibleEmbedding(
            vocabulary_size, embedding_dim, embeddings_initializer=bert_initializer(), dtype=dtype,
            name="token_embedding",
        )
        self.position_embedding = PositionEmbedding(
            max_sequence_length, initializer=bert_initializer(), dtype=dtype, name="position_embedding"
        ) if position_biased_input else None
        self.segment_embedding = keras.layers.Embedding(
            num_segments, embedding_dim, embeddings_initializer=bert_initializer(), dtype=dtype,
            name="segment_embedding",
        ) if num_segments else None
        self.embedding_projection = keras.layers.Dense(
            hidden_dim, use_bias=False, kernel_initializer=bert_initializer(), dtype=dtype, name="embedding_projection"
        ) if embedding_dim != hidden_dim else None
        self.embeddings_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=dtype, name="embeddings_layer_norm"
        )
        self.embeddings_dropout = keras.layers.Dropout(dropout, dtype=dtype, name="embeddings_dropout")
        self.relative_embedding = RelativeEmbedding(
            2 * (position_buckets if position_buckets > 0 else reach), hidden_dim, norm_relative_embeddings,
            layer_norm_epsilon, initializer=bert_initializer(), dtype=dtype, name="relative_embedding",
        ) if relative_attention else None
        self.transformer_layers = [
            DebertaBlock(
                num_heads=num_heads,
                intermediate_dim=intermediate_dim,
                activation=activation,
                dropout=dropout,
                attention_dropout=attention_dropout,
                layer_norm_epsilon=layer_norm_epsilon,
                position_terms=position_terms if relative_attention else (),
                share_att_key=share_att_key,
                position_buckets=position_buckets,
                max_relative_positions=reach,
                kernel_initializer=bert_initializer(),
                dtype=dtype,
                name=f"transformer_layer_{i}",
            )
            for i in range(num_layers)
        ]

        # === Functional model ===
        inputs = {TOKEN_IDS: keras.Input(shape=(None,), dtype="int32", name=TOKEN_IDS)}
        if num_segments:
            inputs[SEGMENT_IDS] = keras.Input(shape=(None,), dtype="int32", name=SEGMENT_IDS)
        inputs[PADDING_MASK] = padding_mask = keras.Input(shape=(None,), dtype="int32", name=PADDING_MASK)
        x = self.token_embedding(inputs[TOKEN_IDS])
        if self.position_embedding is not None:
            x = keras.layers.Add(dtype=dtype, name="position_add")([x, self.position_embedding(x)])
        if self.segment_embedding is not None:
            x = keras.layers.Add(dtype=dtype, name="segment_add")([x, self.segment_embedding(inputs[SEGMENT_IDS])])
        if self.embedding_projection is not None:
            x = self.embedding_projection(x)
        x = self.embeddings_layer_norm(x)
        x = x * ops.cast(padding_mask, x.dtype)[:, :, None]  # as transformers: padding's embeddings are zero
        x = self.embeddings_dropout(x)
        table = self.relative_embedding(x) if self.relative_embedding is not None else None
        for layer in self.transformer_layers:
            x = layer(x, padding_mask, table)
        super().__init__(inputs=inputs, outputs={"sequence_output": x}, dtype=dtype, **kwargs)

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.max_sequence_length = max_sequence_length
        self.embedding_dim = embedding_dim
        self.num_segments = num_segments
        self.position_biased_input = position_biased_input
        self.relative_attention = relative_attention
        self.position_terms = list(position_terms)
        self.position_buckets = position_buckets
        self.max_relative_positions = max_relative_positions
        self.share_att_key = share_att_key
        self.norm_relative_embeddings = norm_relative_embeddings
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
