"""One hypothesis per row, cached: the most likely next token at each step (greedy), or one drawn after top-k /
top-p filtering (`do_sample`), after the min-length and n-gram rules. It gives the token ids transformers'
`EncoderDecoderModel.generate(num_beams=1)` gives: after a row's end token, the pad token; the loop stops when
every row has ended or `max_length` tokens (the start token counted) are there.

Example:
>>> import numpy as np, keras_bert_zoo as kbz
>>> from keras_bert_zoo.models.encoder_decoder import generation
>>> model = kbz.BertEncoderDecoder(kbz.BertEncoder(100, 2, 2, 32, 64))
>>> options = generation.options_with_defaults(max_length=6, start_token_id=2, end_token_id=3, pad_token_id=0)
>>> ids, length = greedy_search(model, np.ones((2, 7), "int32"), np.ones((2, 7), "int32"), options)
>>> tuple(ids.shape), ids[:, 0].numpy().tolist()
((2, 6), [2, 2])
"""

import tensorflow as tf  # tf.while_loop over run-time lengths

from keras_bert_zoo.models.encoder_decoder import decoding_step, logits_processors, sampling


def _choose(scores, options, step):
    def greedy():
        return tf.argmax(scores, axis=-1, output_type=tf.int32)

    def sample():
        return sampling.draw(sampling.warp(scores, options), options["seed"], step)

    return decoding_step.branch(options["do_sample"], sample, greedy)


def greedy_search(model, encoder_token_ids, encoder_padding_mask, options):
    """(ids [batch, max_length] int32, padded with `pad_token_id`; length: how many of them are real)."""
    max_length, pad_token_id, end_token_id = options["max_length"], options["pad_token_id"], options["end_token_id"]
    decoder = decoding_step.weights_of(model)
    logits, state = decoding_step.start(model, decoder, encoder_token_ids, encoder_padding_mask,
                                        options["start_token_id"], max_length)
    batch = tf.shape(logits)[0]
    tokens = tf.concat([tf.fill(tf.stack([batch, 1]), tf.cast(options["start_token_id"], tf.int32)),
                        tf.fill(tf.stack([batch, max_length - 1]), tf.cast(pad_token_id, tf.int32))], axis=1)

    def choose_and_write(logits, length, tokens, done):
        """Writes the token after the first `length` ones; a row that has ended gets the pad token."""
        scores = logits_processors.apply(logits, tokens, length, options)
        chosen = tf.where(done, tf.cast(pad_token_id, tf.int32), _choose(scores, options, length))
        tokens = tf.tensor_scatter_nd_update(
            tokens, tf.stack([tf.range(batch), tf.fill([batch], length)], axis=1), chosen)
        return tokens, tf.logical_or(done, tf.equal(chosen, end_token_id))

    tokens, done = choose_and_write(logits, 1, tokens, tf.zeros([batch], tf.bool))

    def cond(length, tokens, done, state):
        return tf.logical_and(length < max_length, tf.logical_not(tf.reduce_all(done)))

    def body(length, tokens, done, state):
        logits, state = decoding_step.advance(decoder, tokens[:, length - 1], length - 1, state)
        tokens, done = choose_and_write(logits, length, tokens, done)
        return length + 1, tokens, done, state

    length, tokens, _, _ = tf.while_loop(cond, body, (tf.constant(2), tokens, done, state))
    return tokens, length
