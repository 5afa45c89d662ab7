"""The cached decoding step every search of `BertEncoderDecoder.generate` shares: the encoder runs once, each decoder
layer's cross-attention keys and values are computed once (on the first step), and the self-attention keys and
values are kept per step in keras-hub `TransformerDecoder` caches ([rows, 2, max_length, heads, head_dim]).

`start` runs the encoder and the first step; `advance` runs one more step; `repeat_rows` makes a hypothesis per
beam of each row and `reorder` follows the beams a step keeps. Rows, `max_length` and positions may be run-time
values (tensors): the SavedModel's options are.

Example:
>>> import numpy as np, keras_bert_zoo as kbz
>>> model = kbz.BertEncoderDecoder(kbz.BertEncoder(100, 2, 2, 32, 64))
>>> ids, mask = np.ones((2, 7), "int32"), np.ones((2, 7), "int32")
>>> logits, state = start(model, ids, mask, start_token_id=2, max_length=5)
>>> tuple(logits.shape), tuple(state.self_caches[0].shape)
((2, 100), (2, 2, 5, 2, 16))
"""

import collections

import tensorflow as tf  # run-time row counts and lengths (beams, SavedModel options): tf.repeat, tf.gather

# encoded [rows, source, hidden] and encoder_padding_mask [rows, source] of each row's hypothesis; per decoder
# layer, its self-attention cache and its cross-attention cache.
DecoderState = collections.namedtuple("DecoderState", "encoded encoder_padding_mask self_caches cross_caches")


def _step(model, token_ids, index, state, first):
    """Logits [rows, vocab] (float32) of the token after `token_ids` [rows, 1] at position `index`; the new state."""
    x = model.embed_decoder_tokens(token_ids, start_index=index)
    self_caches, cross_caches = [], []
    for layer, self_cache, cross_cache in zip(model.decoder_layers, state.self_caches, state.cross_caches):
        x, self_cache, cross_cache = layer(
            x, state.encoded, encoder_padding_mask=state.encoder_padding_mask,
            self_attention_cache=self_cache, self_attention_cache_update_index=index,
            cross_attention_cache=cross_cache, cross_attention_cache_update_index=0 if first else None)
        self_caches.append(self_cache)
        cross_caches.append(cross_cache)
    logits = model.lm_head(x, mask_positions=tf.zeros_like(token_ids))[:, 0, :]
    return tf.cast(logits, tf.float32), state._replace(self_caches=self_caches, cross_caches=cross_caches)


def start(model, encoder_token_ids, encoder_padding_mask, start_token_id, max_length):
    """Runs the encoder and the decoder's first step (the start token at position 0): the logits [rows, vocab] of
    the first generated token and the `DecoderState` after it, with self caches of `max_length` positions."""
    encoder = model.encoder
    encoder_token_ids = tf.cast(encoder_token_ids, tf.int32)
    encoder_padding_mask = tf.cast(encoder_padding_mask, tf.int32)
    encoded = encoder({"token_ids": encoder_token_ids, "segment_ids": tf.zeros_like(encoder_token_ids),
                       "padding_mask": encoder_padding_mask})["sequence_output"]
    rows, source = tf.shape(encoded)[0], tf.shape(encoded)[1]
    heads = encoder.num_heads
    head_dim = encoder.hidden_dim // heads
    dtype = model.compute_dtype
    self_caches = [tf.zeros(tf.stack([rows, 2, max_length, heads, head_dim]), dtype) for _ in model.decoder_layers]
    cross_caches = [tf.zeros(tf.stack([rows, 2, source, heads, head_dim]), dtype) for _ in model.decoder_layers]
    state = DecoderState(encoded, encoder_padding_mask, self_caches, cross_caches)
    first = tf.fill(tf.stack([rows, 1]), tf.cast(start_token_id, tf.int32))
    return _step(model, first, 0, state, first=True)


def advance(model, token_ids, index, state):
    """One cached step: logits [rows, vocab] of the token after `token_ids` [rows] at position `index`."""
    return _step(model, token_ids[:, None], index, state, first=False)


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
    return state._replace(self_caches=[tf.gather(cache, rows) for cache in state.self_caches])
