"""The best answer span of each question over all its windows, chosen in the graph.

The graph twin of `kbz.data.decode_answers` (BERT's run_squad decoding), with the same choices
and tie-breaks, so both give the same answers on the same logits: in each window the `n_best`
highest start and end logits among context tokens are paired (start <= end, at most
`max_answer_length` tokens, ties to the lower position); the best pair over an example's windows
scores `start + end` (ties to the earlier window, then the better-ranked start, then end). The null
score is the lowest `start[0] + end[0]` over its windows, the null odds `null score - best score`
(in float64, as numpy computes them), and the answer is "" when they exceed
`null_score_threshold`.

Example:
>>> import numpy as np, tensorflow as tf
>>> logits = np.array([[0.0, 1.0, 5.0, 2.0, -1e9]], np.float32)  # [CLS] and 3 context tokens
>>> offsets = np.array([[[-1, -1], [0, 5], [6, 8], [9, 14], [-1, -1]]], np.int32)
>>> out = best_answers(tf.constant(["Paris is lovely"]), logits, logits, offsets, [0])
>>> out["answer"].numpy()[0].decode(), int(out["answer_start"][0]), float(out["score"][0])
('is', 6, 10.0)
"""

import tensorflow as tf


def _top_context_tokens(logits, is_context, k):
    """`(values, positions, valid)` [windows, k]: the `k` best context tokens, ties to the lower position."""
    values, positions = tf.math.top_k(tf.where(is_context, logits, -float("inf")), k)
    return values, positions, tf.gather(is_context, positions, batch_dims=1)


def _first_index_of_max(values):
    """`(max, index of its first occurrence)` per row (tf.argmax does not promise the first)."""
    best = tf.reduce_max(values, axis=-1)
    width = tf.shape(values)[-1]
    index = tf.reduce_min(tf.where(values == best[:, None], tf.range(width)[None, :], width), axis=-1)
    return best, index


def best_answers(
    contexts, start_logits, end_logits, offsets, example_index, n_best=20, max_answer_length=30,
    null_score_threshold=0.0,
):
    """Answers for [batch] `contexts` from the logits of their windows.

    `start_logits`, `end_logits` [windows, seq]; `offsets` [windows, seq, 2] character spans in the
    context (-1 off the context) and `example_index` [windows] as `kbz.data.squad_windows` gives
    them. Returns [batch] tensors: `answer` (string, "" for no answer), `answer_start`,
    `answer_end` (int32 character offsets, end exclusive, -1 for no answer), `score` (float32 best
    start + end logit; -inf if the context has no tokens), `has_answer` (bool) and `null_odds`
    (float32; +inf if the context has no tokens).
    """
    start_logits, end_logits = tf.convert_to_tensor(start_logits), tf.convert_to_tensor(end_logits)
    offsets, example_index = tf.convert_to_tensor(offsets), tf.cast(example_index, tf.int32)
    num_examples, num_windows = tf.shape(contexts)[0], tf.shape(example_index)[0]
    is_context = offsets[:, :, 0] >= 0
    k = tf.minimum(n_best, tf.shape(start_logits)[1])
    start_values, start_positions, start_valid = _top_context_tokens(start_logits, is_context, k)
    end_values, end_positions, end_valid = _top_context_tokens(end_logits, is_context, k)
    length = end_positions[:, None, :] - start_positions[:, :, None] + 1
    allowed = start_valid[:, :, None] & end_valid[:, None, :] & (length >= 1) & (length <= max_answer_length)
    pair_scores = tf.where(allowed, start_values[:, :, None] + end_values[:, None, :], -float("inf"))
    window_best, pair = _first_index_of_max(tf.reshape(pair_scores, [num_windows, k * k]))

    # unsorted_segment_max starts from the lowest float, above -inf: count the windows with a span too.
    has_span = tf.math.unsorted_segment_max(tf.cast(window_best > -float("inf"), tf.int32), example_index,
                                            num_examples) > 0
    best = tf.where(has_span, tf.math.unsorted_segment_max(window_best, example_index, num_examples), -float("inf"))
    is_best = window_best == tf.gather(best, example_index)
    window = tf.math.unsorted_segment_min(
        tf.where(is_best, tf.range(num_windows), num_windows), example_index, num_examples
    )
    window = tf.minimum(window, num_windows - 1)  # no window is best only with NaN logits
    rank = tf.gather(pair, window)
    start = tf.gather(tf.gather(start_positions, window), rank // k, batch_dims=1)
    end = tf.gather(tf.gather(end_positions, window), rank % k, batch_dims=1)
    answer_start = tf.gather_nd(offsets, tf.stack([window, start, tf.zeros_like(start)], axis=1))
    answer_end = tf.gather_nd(offsets, tf.stack([window, end, tf.ones_like(end)], axis=1))

    null = tf.math.unsorted_segment_min(start_logits[:, 0] + end_logits[:, 0], example_index, num_examples)
    null_odds = tf.cast(null, tf.float64) - tf.cast(best, tf.float64)
    has_answer = has_span & (null_odds <= null_score_threshold)
    answer_start = tf.where(has_answer, answer_start, -1)
    answer_end = tf.where(has_answer, answer_end, -1)
    answer = tf.strings.substr(
        contexts, tf.maximum(answer_start, 0), answer_end - answer_start, unit="UTF8_CHAR"
    )
    return {
        "answer": answer,
        "answer_start": answer_start,
        "answer_end": answer_end,
        "score": best,
        "has_answer": has_answer,
        "null_odds": tf.cast(null_odds, tf.float32),
    }
