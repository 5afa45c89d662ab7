"""DeBERTa's disentangled self-attention (He et al. 2021, "DeBERTa: Decoding-enhanced BERT with
Disentangled Attention", section 3.1), with the v2/v3 log-bucketed relative positions.

Each token i is a content vector H_i; each relative distance d gets a position vector P_d (one table
shared by all layers, see `RelativeEmbedding`). With Q_c = H W_q, K_c = H W_k, V_c = H W_v (content) and
Q_r = P W_q,r, K_r = P W_k,r (position; W_q,r = W_q and W_k,r = W_k when `share_att_key`), the score of
query i for key j is (paper eq. 4):

    A_ij = Q_c,i . K_c,j                      content-to-content
         + Q_c,i . K_r,δ(i,j)                 content-to-position  ("c2p")
         + K_c,j . Q_r,δ(j,i)                 position-to-content  ("p2c")

scaled by 1 / sqrt(d * (1 + number of position terms)) (eq. 4's 1/sqrt(3d) when both are on), and
H_out = softmax(A) V_c. δ is the relative distance clipped to the table (eq. 3):

    δ(i,j) = 0            if i - j <= -k
           = 2k - 1       if i - j >= k
           = i - j + k    otherwise

with k the table's half size (`position_buckets`, else `max_relative_positions`). DeBERTa-v2/v3 first map
i - j to log buckets (`relative_position_buckets`): distances under k/2 stay exact, longer ones grow
logarithmically up to `max_relative_positions`. Both position terms use the same index: the p2c term
with δ(j,i) of the distance j - i is the c2p index of i - j read from the key's side, because the
bucketing is odd (bucket(-x) = -bucket(x)).

Written by hand: neither Keras nor keras-hub has relative-position attention of this kind.
"""

import math

import keras
from keras import ops

POSITION_TERMS = ("c2p", "p2c")


def relative_position_buckets(length, position_buckets, max_relative_positions):
    """[length, length] int32 table index of each (query i, key j) pair: δ(i, j) of the module docstring.

    With `position_buckets` > 0, i - j is first log-bucketed: |i - j| < mid = position_buckets // 2 stays,
    longer distances become mid + ceil(log(|i - j| / mid) / log((max_relative_positions - 1) / mid) * (mid - 1))
    with the sign of i - j.

    Example:
    >>> relative_position_buckets(4, 0, 8).numpy().tolist()[0]  # query 0: i - j = 0, -1, -2, -3, shifted by k=8
    [8, 7, 6, 5]
    """
    positions = ops.arange(length, dtype="int32")
    relative = ops.expand_dims(positions, 1) - ops.expand_dims(positions, 0)  # i - j
    span = max_relative_positions
    if position_buckets > 0:
        span, mid = position_buckets, position_buckets // 2
        distance = ops.cast(ops.abs(relative), "float32")
        near = ops.logical_and(relative < mid, relative > -mid)
        distance = ops.where(near, float(mid - 1), distance)  # keeps the log finite; unused for near pairs
        # float32 throughout, as transformers computes it: a bucket edge falls where its float32 logs put it.
        scale = ops.log(ops.convert_to_tensor((max_relative_positions - 1) / mid, "float32"))
        log_bucket = ops.ceil(ops.log(distance / mid) / scale * (mid - 1)) + mid
        far = ops.cast(log_bucket, "int32") * ops.sign(relative)
        relative = ops.where(distance <= mid, relative, far)
    return ops.clip(relative + span, 0, 2 * span - 1)


def _pick(scores, flat_index):
    """[b, h, s, rows] scores -> [b, h, s, s]: element flat_index[i, j] of each [b, h] slice flattened.

    One gather with the same [s, s] index for every batch and head (`ops.take_along_axis` would first
    broadcast the index to [b, h, s, s]).
    """
    batch, heads, length = ops.shape(scores)[0], ops.shape(scores)[1], ops.shape(flat_index)[0]
    flat = ops.reshape(scores, (batch, heads, -1))
    picked = ops.take(flat, ops.reshape(flat_index, (-1,)), axis=2)
    return ops.reshape(picked, (batch, heads, length, length))


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class RelativeEmbedding(keras.layers.Layer):
    """The relative position table P that every layer's attention reads: [2k, hidden] rows, LayerNorm'ed
    when `layer_norm` (DeBERTa-v3's `norm_rel_ebd="layer_norm"`). Called on the hidden states (only for
    their dtype), it returns the table.

    Example:
    >>> import numpy as np
    >>> tuple(RelativeEmbedding(16, 8)(np.zeros((1, 3, 8), "float32")).shape)
    (16, 8)
    """

    def __init__(self, num_rows, hidden_dim, layer_norm=True, layer_norm_epsilon=1e-7, initializer="glorot_uniform",
                 **kwargs):
        super().__init__(**kwargs)
        self.num_rows, self.hidden_dim, self.layer_norm = num_rows, hidden_dim, layer_norm
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer = keras.initializers.get(initializer)
        self.norm = keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, dtype=self.dtype_policy,
                                                    name="layer_norm") if layer_norm else None

    def build(self, inputs_shape):
        self.embeddings = self.add_weight(shape=(self.num_rows, self.hidden_dim), initializer=self.initializer,
                                          name="embeddings")
        if self.norm is not None:
            self.norm.build((self.num_rows, self.hidden_dim))

    def call(self, inputs):
        table = ops.cast(self.embeddings, self.compute_dtype)
        return self.norm(table) if self.norm is not None else table

    def compute_output_shape(self, inputs_shape):
        return (self.num_rows, self.hidden_dim)

    def get_config(self):
        return {**super().get_config(), "num_rows": self.num_rows, "hidden_dim": self.hidden_dim,
                "layer_norm": self.layer_norm, "layer_norm_epsilon": self.layer_norm_epsilon,
                "initializer": keras.initializers.serialize(self.initializer)}


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class DisentangledSelfAttention(keras.layers.Layer):
    """Multi-head disentangled self-attention: `call(hidden, padding_mask, relative_table)` -> the
    heads' concatenated outputs [batch, seq, hidden] (before the output projection); with
    `return_attention_scores=True`, also the attention probabilities [batch, heads, seq, seq].

    Args:
        num_heads: attention heads; each has hidden_dim / num_heads dimensions.
        position_terms: which position terms to add, a subset of ("c2p", "p2c").
        share_att_key: the position terms project P with the content query/key projections (v3) instead
            of their own `pos_query`/`pos_key` ones.
        position_buckets: log buckets of the relative distance (v3: 256); 0 or less: no bucketing.
        max_relative_positions: the longest distance the buckets reach (the table's half size without buckets).
        dropout: dropout on the attention probabilities; `position_dropout`: on the table P.

    Example:
    >>> import numpy as np
    >>> attention = DisentangledSelfAttention(num_heads=2, position_buckets=4, max_relative_positions=16)
    >>> x = np.ones((1, 5, 8), "float32")
    >>> tuple(attention(x, np.ones((1, 5), "int32"), np.ones((8, 8), "float32")).shape)
    (1, 5, 8)
    """

    def __init__(self, num_heads, position_terms=POSITION_TERMS, share_att_key=True, position_buckets=256,
                 max_relative_positions=512, dropout=0.0, position_dropout=0.0, kernel_initializer="glorot_uniform",
                 **kwargs):
        super().__init__(**kwargs)
        unknown = set(position_terms) - set(POSITION_TERMS)
        if unknown:
            raise ValueError(f"position_terms {sorted(unknown)} are not among {POSITION_TERMS}.")
        self.num_heads = num_heads
        self.position_terms = tuple(term for term in POSITION_TERMS if term in position_terms)
        self.share_att_key = share_att_key
        self.position_buckets = position_buckets
        self.max_relative_positions = max_relative_positions
        self.dropout = dropout
        self.position_dropout = position_dropout
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        # The table's half size k: the index δ runs over [0, 2k).
        self.span = position_buckets if position_buckets > 0 else max_relative_positions
        self.probabilities_dropout = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.table_dropout = keras.layers.Dropout(position_dropout, dtype=self.dtype_policy)

    def _dense(self, name, units):
        return keras.layers.Dense(units, kernel_initializer=self.kernel_initializer, dtype=self.dtype_policy,
                                  name=name)

    def build(self, hidden_shape, padding_mask_shape=None, table_shape=None):
        hidden_dim = hidden_shape[-1]
        if hidden_dim % self.num_heads:
            raise ValueError(f"hidden size {hidden_dim} is not divisible by num_heads={self.num_heads}.")
        self.head_dim = hidden_dim // self.num_heads
        self.query, self.key, self.value = (self._dense(name, hidden_dim) for name in ("query", "key", "value"))
        for layer in (self.query, self.key, self.value):
            layer.build(hidden_shape)
        # Position projections of their own only without share_att_key (W_k,r for c2p, W_q,r for p2c).
        self.pos_key = self.pos_query = None
        if not self.share_att_key:
            if "c2p" in self.position_terms:
                self.pos_key = self._dense("pos_key", hidden_dim)
                self.pos_key.build(hidden_shape)
            if "p2c" in self.position_terms:
                self.pos_query = self._dense("pos_query", hidden_dim)
                self.pos_query.build(hidden_shape)

    def _heads(self, x):
        """[..., rows, hidden] -> [..., heads, rows, head_dim]."""
        x = ops.reshape(x, (*ops.shape(x)[:-1], self.num_heads, self.head_dim))
        return ops.swapaxes(x, -2, -3)

    def call(self, hidden, padding_mask, table, training=None, return_attention_scores=False):
        length = ops.shape(hidden)[1]
        query, key = self._heads(self.query(hidden)), self._heads(self.key(hidden))  # [b, h, s, d]
        value = self._heads(self.value(hidden))
        scale = 1.0 / math.sqrt(self.head_dim * (1 + len(self.position_terms)))
        scores = ops.matmul(query, ops.swapaxes(key, -1, -2)) * scale  # content-to-content

        if self.position_terms:
            index = relative_position_buckets(length, self.position_buckets, self.max_relative_positions)
            # Only the table rows some pair uses (255 of 512 for 128 tokens and 256 buckets): the same
            # scores as projecting the whole table, at a fraction of the position terms' matmuls.
            first = ops.min(index)
            table = self.table_dropout(table[first:ops.max(index) + 1], training=training)
            index = index - first
            rows = ops.shape(table)[0]
            positions = ops.arange(length, dtype="int32")
        if "c2p" in self.position_terms:
            pos_key = self._heads((self.key if self.pos_key is None else self.pos_key)(table))  # [h, rows, d]
            c2p = ops.matmul(query, ops.swapaxes(pos_key, -1, -2))  # [b, h, i, rows]: Q_c,i . K_r,δ for every δ
            # c2p[b, h, i, δ(i, j)] for each j, one gather from the flattened last two axes.
            scores = scores + _pick(c2p, positions[:, None] * rows + index) * scale
        if "p2c" in self.position_terms:
            pos_query = self._heads((self.query if self.pos_query is None else self.pos_query)(table))
            p2c = ops.matmul(key, ops.swapaxes(pos_query, -1, -2))  # [b, h, j, rows]: K_c,j . Q_r,δ for every δ
            # p2c[b, h, j, δ(j, i) on the key's side], which is the c2p index of (i, j) (see the docstring).
            scores = scores + _pick(p2c, positions[None, :] * rows + index) * scale

        # As transformers: pair (i, j) counts when both are tokens; a padding query attends to every key
        # evenly (its row is all masked), which matters where a head reads position 0 of a left-padded row.
        mask = ops.cast(padding_mask, "bool")
        pairs = ops.logical_and(mask[:, None, :, None], mask[:, None, None, :])
        scores = ops.cast(scores, "float32")  # softmax in float32 under mixed precision
        scores = ops.where(pairs, scores, -3.4e38)  # float32 min, as transformers fills
        probabilities_before_dropout = ops.cast(ops.softmax(scores, axis=-1), self.compute_dtype)
        probabilities = self.probabilities_dropout(probabilities_before_dropout, training=training)
        context = ops.matmul(probabilities, value)  # [b, h, s, d]
        context = ops.swapaxes(context, 1, 2)
        context = ops.reshape(context, (ops.shape(hidden)[0], length, self.num_heads * self.head_dim))
        # The probabilities before dropout, [b, h, s, s], as keras' MultiHeadAttention returns its scores.
        return (context, probabilities_before_dropout) if return_attention_scores else context

    def compute_output_shape(self, hidden_shape, padding_mask_shape=None, table_shape=None):
        return hidden_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "position_terms": list(self.position_terms),
                "share_att_key": self.share_att_key, "position_buckets": self.position_buckets,
                "max_relative_positions": self.max_relative_positions, "dropout": self.dropout,
                "position_dropout": self.position_dropout,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}
