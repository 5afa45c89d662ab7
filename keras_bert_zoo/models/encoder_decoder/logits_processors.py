"""The rules generation applies to each step's scores before it chooses, as transformers' logits processors do:
no end token before `min_length` tokens (`MinLengthLogitsProcessor`: the length counts the start token) and no
n-gram twice (`NoRepeatNGramLogitsProcessor`: a token that would complete an n-gram the hypothesis already holds
scores -inf). Each takes run-time values (tensors) as well as Python numbers, and runs under XLA.

Example:
>>> import numpy as np
>>> tokens = np.array([[2, 5, 6, 5, 0, 0]], "int32")       # 4 tokens so far; 5 6 is a 2-gram, so 5 -> 6 is banned
>>> scores = block_repeated_ngrams(np.zeros((1, 8), "float32"), tokens, length=4, ngram_size=2)
>>> np.isinf(scores.numpy()[0]).nonzero()[0].tolist()
[6]
>>> float(forbid_early_end(np.zeros((1, 8), "float32"), length=4, min_length=5, end_token_id=3)[0, 3])
-inf
"""

import tensorflow as tf  # run-time n-gram sizes and lengths as tensors, under XLA too

from keras_bert_zoo.models.encoder_decoder import decoding_step


def forbid_early_end(scores, length, min_length, end_token_id):
    """`scores` [rows, vocab] with the end token at -inf while the hypotheses (`length` tokens) are shorter than
    `min_length`."""
    vocabulary = tf.range(tf.shape(scores)[-1])
    early = tf.logical_and(tf.equal(vocabulary, end_token_id), length < min_length)
    return tf.where(early[None, :], tf.constant(-float("inf"), scores.dtype), scores)


def block_repeated_ngrams(scores, tokens, length, ngram_size):
    """`scores` [rows, vocab] with -inf at each token that would repeat an n-gram of `tokens` [rows, max_length]
    (the first `length` of them are the hypothesis). Each window of n tokens whose first n - 1 equal the last
    n - 1 of the hypothesis bans its last token."""
    max_length = tf.shape(tokens)[1]
    keep = ngram_size - 1  # the prefix an n-gram must start with: the hypothesis' last n - 1 tokens
    starts, offsets = tf.range(max_length)[:, None], tf.range(max_length)[None, :]
    inside = offsets < keep
    window = tf.gather(tokens, tf.minimum(starts + offsets, max_length - 1), axis=1)  # [rows, start, offset]
    prefix = tf.gather(tokens, tf.clip_by_value(length - keep + offsets[0], 0, max_length - 1), axis=1)
    matches = tf.reduce_all(tf.logical_or(~inside, tf.equal(window, prefix[:, None, :])), axis=-1)
    # A window whose last token is inside the hypothesis, and only once the hypothesis holds a whole n-gram.
    real = tf.logical_and(starts[:, 0] + ngram_size <= length, length >= ngram_size)
    last = tf.gather(tokens, tf.minimum(starts[:, 0] + keep, max_length - 1), axis=1)  # [rows, start]
    vocabulary_size = tf.shape(scores)[-1]
    banned_ids = tf.where(tf.logical_and(matches, real), last, vocabulary_size)  # a spare column for the rest
    rows = tf.shape(tokens)[0]
    row_ids = tf.broadcast_to(tf.range(rows)[:, None], tf.shape(banned_ids))
    banned = tf.tensor_scatter_nd_max(tf.zeros(tf.stack([rows, vocabulary_size + 1]), tf.int32),
                                      tf.stack([row_ids, banned_ids], axis=-1), tf.ones_like(banned_ids))
    return tf.where(banned[:, :-1] > 0, tf.constant(-float("inf"), scores.dtype), scores)


def apply(scores, tokens, length, options):
    """Both rules, as `options` sets them (`min_length`, `no_repeat_ngram_size`, `end_token_id`); the n-gram
    rule runs only when its size is above 0."""
    scores = forbid_early_end(scores, length, options["min_length"], options["end_token_id"])
    ngram_size = options["no_repeat_ngram_size"]
    return decoding_step.branch(ngram_size > 0, lambda: block_repeated_ngrams(scores, tokens, length, ngram_size),
                                lambda: scores)
