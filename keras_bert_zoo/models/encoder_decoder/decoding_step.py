"""The cached decoding step every search of `BertEncoderDecoder.generate` shares: the encoder runs once, each decoder
layer's cross-attention keys and values are computed once, and the self-attention keys and values are kept per
step in caches of `max_length` positions ([rows, heads, max_length, head_dim], written at each step's index).

The step reads the decoder's weights rather than calling its layers, because at a step's sizes the fixed cost
of a kernel outweighs its arithmetic: keras-hub's cached `TransformerDecoder` makes about 150 TF ops per layer
and step (einsum lowerings, its stacked cache rebuilt each step) and the LM head transposes the 47 MB word
embeddings each step. Here one matmul makes a layer's self-attention query, key and value, the embeddings are
transposed once per search, and the kernels a per-op profile found at 35-40 us a call (oneDNN's softmax and
batched matmul on the short self-attention cache, XLA's DynamicUpdateSlice for the cache writes) are element-wise
ops (benchmarks/RESULTS.md). `weights_of(model)` gathers the weights once per call of a search (outside its loop);
`test_generation.py` checks each step's logits against the layers' teacher-forced ones.

`start` runs the encoder and the first step; `advance` runs one more step; `repeat_rows` makes a hypothesis per
beam of each row and `reorder` follows the beams a step keeps. Rows, `max_length` and positions may be run-time
values (tensors): the SavedModel's options are.

Example:
>>> import numpy as np, keras_bert_zoo as kbz
>>> model = kbz.BertEncoderDecoder(kbz.BertEncoder(100, 2, 2, 32, 64))
>>> ids, mask = np.ones((2, 7), "int32"), np.ones((2, 7), "int32")
>>> decoder = weights_of(model)
>>> logits, state = start(model, decoder, ids, mask, start_token_id=2, max_length=5)
>>> tuple(logits.shape), tuple(state.self_keys[0].shape)
((2, 100), (2, 2, 5, 16))
"""

import collections

import keras
import tensorflow as tf  # run-time row counts and lengths (beams, SavedModel options): tf.repeat, tf.gather

# Per row's hypothesis: the additive attention bias of the encoder's padding [rows, 1, 1, source]; per decoder
# layer, the self-attention keys and values so far [rows, heads, max_length, head_dim] and the cross-attention
# keys and values of the encoded text [rows, heads, source, head_dim].
DecoderState = collections.namedtuple("DecoderState", "encoder_bias self_keys self_values cross_keys cross_values")
# A layer norm's (gamma, beta, epsilon).
Norm = collections.namedtuple("Norm", "gamma beta epsilon")
# One decoder block's weights as the step uses them: kernels [in, out] (self-attention's query, key and value side
# by side, the query's scaled by 1/sqrt(head_dim)), biases [out].
Block = collections.namedtuple("Block", "qkv qkv_bias self_output self_output_bias self_norm query query_bias "
                                        "cross_output cross_output_bias cross_norm inner inner_bias activation outer "
                                        "outer_bias feedforward_norm")
# The decoder's weights: embeddings, blocks and LM head (`transform`, then `output_kernel`, the word embeddings
# transposed, + bias).
DecoderWeights = collections.namedtuple(
    "DecoderWeights", "dtype heads word position segment embeddings_norm blocks transform transform_bias "
                      "transform_activation transform_norm output_kernel output_bias")


def _norm(layer):
    return Norm(tf.convert_to_tensor(layer.gamma), tf.convert_to_tensor(layer.beta), layer.epsilon)  # read once


def _in_kernel(dense, dtype):
    """An attention projection's EinsumDense kernel [hidden, heads, head_dim] as [hidden, heads * head_dim], with
    its bias flattened."""
    kernel = tf.cast(dense.kernel, dtype)
    return tf.reshape(kernel, [kernel.shape[0], -1]), tf.reshape(tf.cast(dense.bias, dtype), [-1])


def _block_weights(layer, dtype):
    self_attention, cross = layer._self_attention_layer, layer._cross_attention_layer
    scale = 1.0 / float(self_attention._key_dim) ** 0.5
    (query, query_bias), (key, key_bias), (value, value_bias) = (
        _in_kernel(dense, dtype) for dense in (self_attention._query_dense, self_attention._key_dense,
                                               self_attention._value_dense))
    cross_query, cross_query_bias = _in_kernel(cross._query_dense, dtype)
    inner, outer = layer._feedforward_intermediate_dense, layer._feedforward_output_dense
    return Block(
        qkv=tf.concat([query * scale, key, value], axis=1), qkv_bias=tf.concat([query_bias * scale, key_bias,
                                                                                 value_bias], axis=0),
        self_output=tf.reshape(tf.cast(self_attention._output_dense.kernel, dtype), [query.shape[1], -1]),
        self_output_bias=tf.cast(self_attention._output_dense.bias, dtype),
        self_norm=_norm(layer._self_attention_layer_norm),
        query=cross_query * scale, query_bias=cross_query_bias * scale,
        cross_output=tf.reshape(tf.cast(cross._output_dense.kernel, dtype), [cross_query.shape[1], -1]),
        cross_output_bias=tf.cast(cross._output_dense.bias, dtype), cross_norm=_norm(layer._cross_attention_layer_norm),
        inner=tf.cast(inner.kernel, dtype), inner_bias=tf.cast(inner.bias, dtype), activation=inner.activation,
        outer=tf.cast(outer.kernel, dtype), outer_bias=tf.cast(outer.bias, dtype),
        feedforward_norm=_norm(layer._feedforward_layer_norm))


def weights_of(model):
    """The `DecoderWeights` of `model` (a `BertEncoderDecoder`), read once: call it outside a search's loop."""
    quantized = [layer.name for layer in model.decoder_layers + [model.lm_head] for sub in layer._flatten_layers()
                 if getattr(sub, "quantization_mode", None)]
    if quantized:
        raise ValueError(f"generate reads the decoder's float weights; {quantized[0]} is quantized. Quantize the "
                         "encoder only: model.encoder.quantize('int8').")
    dtype = model.compute_dtype
    head = model.lm_head
    word = tf.cast(model.decoder_token_embedding.embeddings, dtype)
    return DecoderWeights(
        dtype=dtype, heads=model.encoder.num_heads, word=word,
        position=tf.cast(model.decoder_position_embedding.position_embeddings, dtype),
        segment=tf.cast(model.decoder_segment_embedding.embeddings, dtype)[0],
        embeddings_norm=_norm(model.decoder_embeddings_layer_norm),
        blocks=[_block_weights(layer, dtype) for layer in model.decoder_layers],
        transform=tf.cast(head._intermediate_dense.kernel, dtype),
        transform_bias=tf.cast(head._intermediate_dense.bias, dtype),
        transform_activation=head._intermediate_dense.activation, transform_norm=_norm(head._intermediate_layer_norm),
        output_kernel=tf.transpose(word),  # once per search: [hidden, vocab] multiplies 2.5x faster at 16 rows
        output_bias=tf.cast(head._bias, dtype))


def _layer_norm(x, norm):
    return tf.cast(keras.ops.layer_normalization(x, norm.gamma, norm.beta, -1, norm.epsilon), x.dtype)


def _large_negative(dtype):
    return -3e4 if dtype == "float16" else -1e9  # what Keras' masked softmax adds


def _heads(x, heads):
    """[rows, hidden] -> [rows, heads, 1, head_dim] (a static shape: no shape ops per step)."""
    return tf.reshape(x, [-1, heads, 1, x.shape[-1] // heads])


def _softmax(scores, axis=-1):
    """Softmax in plain element-wise ops: `tf.nn.softmax` runs as a oneDNN primitive that takes about 35 us on a
    step's [rows, heads, 1, length] scores, these a few."""
    exponentials = tf.exp(scores - tf.reduce_max(scores, axis=axis, keepdims=True))
    return exponentials / tf.reduce_sum(exponentials, axis=axis, keepdims=True)


def _attend(query, keys, values, bias, products=False):
    """Softmax attention of `query` [rows, heads, 1, head_dim] (scaled) as [rows, heads * head_dim]. `products`
    (`bias` [length]): scores and weighted sum as element-wise products and sums, which beat oneDNN's batched
    matmul (about 40 us a call) on the short self-attention cache; over a source of 128, batched matmuls win."""
    if products:
        scores = tf.reduce_sum(query * keys, axis=-1, keepdims=True) + tf.reshape(bias, [-1, 1])  # [.., length, 1]
        attended = tf.reduce_sum(_softmax(scores, axis=2) * values, axis=2)
    else:
        attended = tf.matmul(_softmax(tf.matmul(query, keys, transpose_b=True) + bias), values)
    return tf.reshape(attended, [-1, query.shape[1] * query.shape[-1]])


def _write(cache, index, update):
    """`cache` [rows, heads, max_length, head_dim] with `update` [rows, heads, 1, head_dim] at position `index`: a
    select, where `ops.slice_update` would run XLA's DynamicUpdateSlice as a kernel of its own per call."""
    return tf.where((tf.range(tf.shape(cache)[2]) == index)[:, None], update, cache)


def _dense(x, kernel, bias):
    return tf.nn.bias_add(tf.matmul(x, kernel), bias)  # MatMul + BiasAdd: one fused oneDNN op on CPU


def _block(x, block, keys, values, causal_bias, cross_keys, cross_values, encoder_bias, index, heads):
    """One post-LayerNorm decoder block on `x` [rows, hidden]; returns it and the self caches with this step's
    key and value written at `index`."""
    query, key, value = tf.split(_dense(x, block.qkv, block.qkv_bias), 3, axis=1)
    keys, values = _write(keys, index, _heads(key, heads)), _write(values, index, _heads(value, heads))
    attended = _attend(_heads(query, heads), keys, values, causal_bias, products=True)
    x = _layer_norm(x + _dense(attended, block.self_output, block.self_output_bias), block.self_norm)
    query = _heads(_dense(x, block.query, block.query_bias), heads)
    attended = _attend(query, cross_keys, cross_values, encoder_bias)
    x = _layer_norm(x + _dense(attended, block.cross_output, block.cross_output_bias), block.cross_norm)
    inner = block.activation(_dense(x, block.inner, block.inner_bias))
    x = _layer_norm(x + _dense(inner, block.outer, block.outer_bias), block.feedforward_norm)
    return x, keys, values


def advance(decoder, token_ids, index, state):
    """One cached step: logits [rows, vocab] (float32) of the token after `token_ids` [rows] at position `index`;
    the new state."""
    x = tf.gather(decoder.word, token_ids) + decoder.position[index] + decoder.segment
    x = _layer_norm(x, decoder.embeddings_norm)
    max_length = tf.shape(state.self_keys[0])[2]
    causal_bias = tf.where(tf.range(max_length) > index, tf.constant(_large_negative(decoder.dtype), decoder.dtype),
                           tf.constant(0, decoder.dtype))
    self_keys, self_values = [], []
    for block, keys, values, cross_keys, cross_values in zip(decoder.blocks, state.self_keys, state.self_values,
                                                             state.cross_keys, state.cross_values):
        x, keys, values = _block(x, block, keys, values, causal_bias, cross_keys, cross_values, state.encoder_bias,
                                 index, decoder.heads)
        self_keys.append(keys)
        self_values.append(values)
    x = decoder.transform_activation(_dense(x, decoder.transform, decoder.transform_bias))
    x = _layer_norm(x, decoder.transform_norm)
    logits = _dense(x, decoder.output_kernel, decoder.output_bias)
    return tf.cast(logits, tf.float32), state._replace(self_keys=self_keys, self_values=self_values)


def cross_keys_and_values(layer, encoded):
    """A decoder layer's cross-attention keys and values of `encoded` as [rows, heads, source, head_dim]."""
    cross = layer._cross_attention_layer
    return [tf.transpose(dense(encoded), [0, 2, 1, 3]) for dense in (cross._key_dense, cross._value_dense)]


def encoder_bias(encoder_padding_mask, dtype):
    """The additive attention bias [rows, 1, 1, source] of the encoder's padding: 0 on a token, a large negative
    number on padding."""
    padding = tf.cast(tf.expand_dims(tf.expand_dims(encoder_padding_mask, 1), 1), dtype)  # LiteRT's STRIDED_SLICE
    return (1 - padding) * _large_negative(dtype)  # lacks the new_axis_mask of [:, None, None, :]


def start(model, decoder, encoder_token_ids, encoder_padding_mask, start_token_id, max_length):
    """Runs the encoder and the decoder's first step (the start token at position 0): the logits [rows, vocab] of
    the first generated token and the `DecoderState` after it, with self caches of `max_length` positions.
    `decoder`: `weights_of(model)`."""
    encoder = model.encoder
    encoder_token_ids = tf.cast(encoder_token_ids, tf.int32)
    encoder_padding_mask = tf.cast(encoder_padding_mask, tf.int32)
    encoded = encoder({"token_ids": encoder_token_ids, "segment_ids": tf.zeros_like(encoder_token_ids),
                       "padding_mask": encoder_padding_mask})["sequence_output"]
    rows = tf.shape(encoded)[0]
    heads = encoder.num_heads
    cache = tf.zeros(tf.stack([rows, heads, max_length, encoder.hidden_dim // heads]), decoder.dtype)
    cross = [cross_keys_and_values(layer, encoded) for layer in model.decoder_layers]
    state = DecoderState(encoder_bias=encoder_bias(encoder_padding_mask, decoder.dtype),
                         self_keys=[cache] * len(cross), self_values=[cache] * len(cross),
                         cross_keys=[keys for keys, _ in cross], cross_values=[values for _, values in cross])
    first = tf.fill(tf.stack([rows]), tf.cast(start_token_id, tf.int32))
    return advance(decoder, first, 0, state)


def repeat_rows(state, times):
    """Each row's state `times` times in a row (row 0, row 0, ..., row 1, ...): one copy per beam."""
    return tf.nest.map_structure(lambda tensor: tf.repeat(tensor, times, axis=0), state)


def branch(flag, if_true, if_false):
    """`if_true()` or `if_false()` as `flag` says: a Python bool picks one now, a tensor one at run time."""
    if isinstance(flag, bool):
        return if_true() if flag else if_false()
    return tf.cond(flag, if_true, if_false)


def reorder(state, rows):
    """The self-attention caches of `rows` (the hypotheses each beam continues); the rest is equal across a row's
    beams, so it stays."""
    return state._replace(self_keys=[tf.gather(cache, rows) for cache in state.self_keys],
                          self_values=[tf.gather(cache, rows) for cache in state.self_values])
