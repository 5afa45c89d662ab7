"""Greedy decoding for `BertEncoderDecoder` with caches: the encoder runs once, each layer's cross-attention keys and
values are computed once, self-attention keys and values are cached per step (keras-hub's `TransformerDecoder`
caches). It gives the token ids transformers' `EncoderDecoderModel.generate(num_beams=1, do_sample=False)` gives.

Example:
>>> import numpy as np, keras_bert_zoo as kbz
>>> model = kbz.BertEncoderDecoder(kbz.BertEncoder(100, 2, 2, 32, 64))
>>> ids = model.generate({"encoder_token_ids": np.ones((2, 7), "int32"),
...                       "encoder_padding_mask": np.ones((2, 7), "int32")},
...                      max_length=6, start_token_id=2, end_token_id=3)
>>> ids.shape[0], ids.shape[1] <= 6, ids[:, 0].tolist()
(2, True, [2, 2])
"""

import keras
from keras import ops


def _step_logits(model, token_ids, index, encoded, encoder_padding_mask, self_caches, cross_caches, first):
    """Logits [batch, vocab] of the next token after `token_ids` [batch, 1] at position `index`, and the caches."""
    x = model.embed_decoder_tokens(token_ids, start_index=index)
    new_self, new_cross = [], []
    for layer, self_cache, cross_cache in zip(model.decoder_layers, self_caches, cross_caches):
        x, self_cache, cross_cache = layer(
            x, encoded, encoder_padding_mask=encoder_padding_mask,
            self_attention_cache=self_cache, self_attention_cache_update_index=index,
            cross_attention_cache=cross_cache, cross_attention_cache_update_index=0 if first else None)
        new_self.append(self_cache)
        new_cross.append(cross_cache)
    logits = model.lm_head(x, mask_positions=ops.zeros_like(token_ids))[:, 0, :]
    return ops.cast(logits, "float32"), new_self, new_cross


def greedy_search(model, encoder_token_ids, encoder_padding_mask, max_length, start_token_id, end_token_id,
                  pad_token_id):
    """Token ids [batch, max_length]: `start_token_id`, then the most likely token at each step; after a row's
    `end_token_id`, `pad_token_id`. Also returns how many steps ran (the output's real length)."""
    encoder = model.encoder
    encoded = encoder({"token_ids": encoder_token_ids, "segment_ids": ops.zeros_like(encoder_token_ids),
                       "padding_mask": encoder_padding_mask})["sequence_output"]
    batch = ops.shape(encoder_token_ids)[0]
    heads, head_dim = encoder.num_heads, encoder.hidden_dim // encoder.num_heads
    dtype = model.compute_dtype
    self_caches = [ops.zeros((batch, 2, max_length, heads, head_dim), dtype) for _ in model.decoder_layers]
    cross_caches = [ops.zeros((batch, 2, ops.shape(encoded)[1], heads, head_dim), dtype) for _ in model.decoder_layers]
    tokens = ops.concatenate([ops.ones((batch, 1), "int32") * start_token_id,
                              ops.ones((batch, max_length - 1), "int32") * pad_token_id], axis=1)
    # The first step fills the cross-attention caches; the loop then reuses them.
    logits, self_caches, cross_caches = _step_logits(model, tokens[:, :1], 0, encoded, encoder_padding_mask,
                                                     self_caches, cross_caches, first=True)
    done = ops.zeros((batch,), "bool")

    def choose(logits, done):
        chosen = ops.where(done, pad_token_id, ops.cast(ops.argmax(logits, axis=-1), "int32"))
        return chosen, ops.logical_or(done, ops.equal(chosen, end_token_id))

    chosen, done = choose(logits, done)
    tokens = ops.slice_update(tokens, (0, 1), chosen[:, None])

    def cond(index, tokens, done, self_caches):
        return ops.logical_and(index < max_length - 1, ops.logical_not(ops.all(done)))

    def body(index, tokens, done, self_caches):
        current = ops.slice(tokens, (0, index), (batch, 1))
        logits, self_caches, _ = _step_logits(model, current, index, encoded, encoder_padding_mask,
                                              self_caches, cross_caches, first=False)
        chosen, done = choose(logits, done)
        tokens = ops.slice_update(tokens, (0, index + 1), chosen[:, None])
        return index + 1, tokens, done, self_caches

    index, tokens, done, _ = ops.while_loop(cond, body, (ops.convert_to_tensor(1), tokens, done, self_caches))
    return tokens, index + 1


def compiled(model, max_length):
    """`greedy_search` for `max_length` as one graph function of (encoder_token_ids, encoder_padding_mask,
    start_token_id, end_token_id, pad_token_id): the token ids are inputs, so it is traced once."""

    def generate(encoder_token_ids, encoder_padding_mask, start_token_id, end_token_id, pad_token_id):
        return greedy_search(model, encoder_token_ids, encoder_padding_mask, max_length, start_token_id,
                             end_token_id, pad_token_id)

    if keras.config.backend() == "tensorflow":
        import tensorflow as tf  # the loop as one graph, as keras-hub's generate compiles it

        ids, token = tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((), tf.int32)
        return tf.function(generate, input_signature=[ids, ids, token, token, token])
    return generate
