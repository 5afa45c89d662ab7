"""Top-k and top-p (nucleus) filtering and seeded draws, as transformers' `TopKLogitsWarper`, `TopPLogitsWarper`
and `multinomial` define them, for run-time settings (tensors) and under XLA.

Top-k keeps every token scoring at least the k-th best (k = 0: all); top-p keeps the most likely tokens whose
probabilities, summed from the least likely up, leave more than 1 - p (p = 1: all); both keep at least
`min_tokens_to_keep`. A draw is the Gumbel-max trick over Philox bits from (seed, step): the same seed gives the
same tokens eagerly, in a graph and under XLA (keras.random takes no run-time seed, so this is TensorFlow's
stateless random). Drawing k without replacement is the Gumbel top-k.

Example:
>>> import numpy as np
>>> logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]], "float32"))
>>> np.isfinite(filter_top_k(logits, 2).numpy()).tolist(), np.isfinite(filter_top_p(logits, 0.7).numpy()).tolist()
([[True, True, False, False]], [[True, True, False, False]])
>>> int(draw(logits, seed=7, step=1)[0]) == int(draw(logits, seed=7, step=1)[0])
True
"""

import tensorflow as tf  # stateless Philox draws with a run-time seed

_FILTERED = -float("inf")


def filter_top_k(logits, top_k, min_tokens_to_keep=1):
    """`logits` [rows, vocab] with -inf below the k-th largest of each row; `top_k` 0 keeps them all."""
    vocabulary_size = tf.shape(logits)[-1]
    k = tf.minimum(tf.maximum(top_k, min_tokens_to_keep), vocabulary_size)
    kth = tf.gather(tf.sort(logits, direction="DESCENDING"), k - 1, axis=-1)[:, None]  # no top_k: k is run-time
    filtered = tf.where(logits < kth, tf.constant(_FILTERED, logits.dtype), logits)
    return tf.where(tf.equal(top_k, 0), logits, filtered)


def filter_top_p(logits, top_p, min_tokens_to_keep=1):
    """`logits` [rows, vocab] with -inf at the tokens outside the nucleus of probability `top_p`."""
    order = tf.argsort(logits, axis=-1, stable=True)  # least likely first, as transformers sorts
    ascending = tf.gather(logits, order, batch_dims=1)
    cumulative = tf.cumsum(tf.nn.softmax(ascending, axis=-1), axis=-1)
    remove = cumulative <= 1 - top_p
    vocabulary_size = tf.shape(logits)[-1]
    remove = tf.logical_and(remove, tf.range(vocabulary_size) < vocabulary_size - min_tokens_to_keep)
    remove = tf.gather(remove, tf.argsort(order, axis=-1), batch_dims=1)  # back to vocabulary order
    filtered = tf.where(remove, tf.constant(_FILTERED, logits.dtype), logits)
    return tf.where(top_p >= 1.0, logits, filtered)


def warp(scores, options, min_tokens_to_keep=1):
    """Top-k then top-p, as `options` sets them (`top_k`, `top_p`)."""
    scores = filter_top_k(scores, options["top_k"], min_tokens_to_keep)
    return filter_top_p(scores, options["top_p"], min_tokens_to_keep)


def gumbel_noise(shape, seed, step):
    """Gumbel(0, 1) noise of `shape`, a function of (seed, step) alone."""
    seed = tf.stack([tf.cast(seed, tf.int32), tf.cast(step, tf.int32)])
    # Philox's bits are the same under XLA, its floats are not: make (0, 1) floats from the top 24 bits here.
    bits = tf.random.stateless_uniform(shape, seed, minval=None, maxval=None, dtype=tf.uint32, alg="philox")
    uniform = (tf.cast(tf.bitwise.right_shift(bits, 8), tf.float32) + 0.5) * 2.0**-24
    return -tf.math.log(-tf.math.log(uniform))


def draw(scores, seed, step):
    """One token id per row [rows] (int32), drawn from softmax(`scores` [rows, vocab])."""
    noisy = scores + gumbel_noise(tf.shape(scores), seed, step)
    return tf.argmax(noisy, axis=-1, output_type=tf.int32)


def draw_without_replacement(scores, count, seed, step):
    """`count` distinct indices per row [rows, count] (int32), drawn in order from softmax(`scores`)."""
    return tf.math.top_k(scores + gumbel_noise(tf.shape(scores), seed, step), k=count).indices
