"""Beam search, cached, as transformers' (vectorized) `_beam_search` defines it, so that it gives the token ids
`EncoderDecoderModel.generate(num_beams=k)` gives.

Each step scores every beam's continuations by their summed log-probabilities (after the min-length and n-gram
rules), keeps the best 2k (or, with `do_sample`, draws 2k without replacement after top-k / top-p), lets the
best k that do not end go on, and files those of the first k that end (the end token, or `max_length`) among the
row's k finished hypotheses, scored sum / generated_length ** length_penalty. The self-attention caches follow
the beams each step keeps. A row stops taking hypotheses when its best running beam cannot beat its worst
finished one at the current length (`early_stopping=False`), or as soon as it has k (`early_stopping=True`); the
search stops when no row can improve. The output is each row's best finished hypothesis.

Example:
>>> import numpy as np, keras_bert_zoo as kbz
>>> from keras_bert_zoo.models.encoder_decoder import generation
>>> model = kbz.BertEncoderDecoder(kbz.BertEncoder(100, 2, 2, 32, 64))
>>> options = generation.options_with_defaults(max_length=6, num_beams=3, start_token_id=2, end_token_id=3)
>>> ids, length = beam_search(model, np.ones((2, 7), "int32"), np.ones((2, 7), "int32"), options)
>>> tuple(ids.shape), ids[:, 0].numpy().tolist()
((2, 6), [2, 2])
"""

import tensorflow as tf  # run-time beam counts (the SavedModel's options) make run-time shapes

from keras_bert_zoo.models.encoder_decoder import decoding_step, logits_processors, sampling

_NEVER = -1.0e9  # transformers' score for what may not be chosen


def _penalized(scores, generated_length, length_penalty):
    """scores / generated_length ** length_penalty, the power in float64 as Python computes transformers' one."""
    power = tf.pow(tf.cast(generated_length, tf.float64), tf.cast(length_penalty, tf.float64))
    return scores / tf.cast(power, tf.float32)


def _gather_beams(tensor, beams):
    """tensor [batch, n, ...] at `beams` [batch, m] -> [batch, m, ...]."""
    return tf.gather(tensor, beams, batch_dims=1)


def beam_search(model, encoder_token_ids, encoder_padding_mask, options):
    """(ids [batch, max_length] int32 padded with `pad_token_id`, length: how many of them are real)."""
    max_length, beams = options["max_length"], options["num_beams"]
    end_token_id, early_stopping = options["end_token_id"], options["early_stopping"]
    length_penalty = tf.cast(options["length_penalty"], tf.float32)
    pad = tf.cast(options["pad_token_id"], tf.int32)
    # The first step is alike for a row's beams (the start token): run it per row, then copy it per beam.
    decoder = decoding_step.weights_of(model)
    logits, state = decoding_step.start(model, decoder, encoder_token_ids, encoder_padding_mask,
                                        options["start_token_id"], max_length)
    logits, state = tf.repeat(logits, beams, axis=0), decoding_step.repeat_rows(state, beams)
    batch, vocabulary_size = tf.shape(encoder_token_ids)[0], tf.shape(logits)[-1]
    candidates = 2 * beams  # one end token: 2k candidates leave k that go on
    positions = tf.range(max_length)

    sequences = tf.concat([tf.fill(tf.stack([batch, beams, 1]), tf.cast(options["start_token_id"], tf.int32)),
                           tf.fill(tf.stack([batch, beams, max_length - 1]), pad)], axis=2)
    running_scores = tf.where(tf.range(beams)[None, :] == 0, 0.0, _NEVER) + tf.zeros(tf.stack([batch, 1]))
    finished = dict(sequences=sequences, scores=tf.fill(tf.stack([batch, beams]), _NEVER),
                    ended=tf.zeros(tf.stack([batch, beams]), tf.bool),
                    lengths=tf.zeros(tf.stack([batch, beams]), tf.int32))
    improvable = tf.ones(tf.stack([batch, 1]), tf.bool)

    def step(length, logits, state, sequences, running_scores, finished, improvable):
        """`length` tokens in each running hypothesis; returns the state after choosing the next ones."""
        flat = tf.reshape(sequences, tf.stack([batch * beams, max_length]))
        ruled = logits_processors.apply(tf.nn.log_softmax(logits), flat, length, options)
        do_sample = options["do_sample"]
        scores = decoding_step.branch(do_sample, lambda: sampling.warp(ruled, options, min_tokens_to_keep=2),
                                      lambda: ruled)
        totals = tf.reshape(tf.reshape(scores, tf.stack([batch, beams, -1])) + running_scores[:, :, None],
                            tf.stack([batch, -1]))

        def drawn():
            indices = sampling.draw_without_replacement(totals, candidates, options["seed"], length)
            return tf.gather(totals, indices, batch_dims=1), indices

        top_scores, top = decoding_step.branch(do_sample, drawn, lambda: tuple(tf.math.top_k(totals, k=candidates)))
        source, token = top // vocabulary_size, top % vocabulary_size
        top_sequences = tf.where(positions == length, token[:, :, None], _gather_beams(sequences, source))
        ends = tf.logical_or(tf.equal(token, end_token_id), length + 1 >= max_length)

        # The best k that do not end go on.
        going_on = top_scores + tf.cast(ends, tf.float32) * _NEVER
        kept = tf.math.top_k(going_on, k=beams).indices
        sequences, running_scores = _gather_beams(top_sequences, kept), _gather_beams(going_on, kept)
        rows = tf.reshape(_gather_beams(source, kept) + tf.range(batch)[:, None] * beams, [-1])

        # Those of the first k that end join the finished ones, if they score among the k best.
        just_ended = tf.logical_and(ends, tf.range(candidates)[None, :] < beams)
        new_scores = _penalized(top_scores, length, length_penalty)
        full = tf.logical_and(tf.reduce_all(finished["ended"], axis=1, keepdims=True), early_stopping)
        new_scores += tf.cast(full, tf.float32) * _NEVER
        new_scores += tf.cast(tf.logical_not(improvable), tf.float32) * _NEVER
        new_scores += tf.cast(tf.logical_not(just_ended), tf.float32) * _NEVER
        merged = dict(
            sequences=tf.concat([finished["sequences"], top_sequences], axis=1),
            scores=tf.concat([finished["scores"], new_scores], axis=1),
            ended=tf.concat([finished["ended"], just_ended], axis=1),
            lengths=tf.concat([finished["lengths"], tf.fill(tf.shape(just_ended), length + 1)], axis=1))
        best_merged = tf.math.top_k(merged["scores"], k=beams).indices
        finished = {key: _gather_beams(value, best_merged) for key, value in merged.items()}

        # Can a running beam still beat the worst finished one, at the length it has now?
        best_running = _penalized(running_scores[:, :1], length, length_penalty)
        worst = tf.where(finished["ended"], tf.reduce_min(finished["scores"], axis=1, keepdims=True), _NEVER)
        improvable = tf.logical_and(improvable, tf.reduce_any(best_running > worst, axis=-1, keepdims=True))
        go_on = tf.logical_and(
            tf.reduce_any(improvable),
            tf.logical_not(tf.logical_and(tf.reduce_all(finished["ended"]), early_stopping)))
        go_on = tf.logical_and(go_on, tf.logical_not(tf.reduce_all(ends)))
        return go_on, decoding_step.reorder(state, rows), sequences, running_scores, finished, improvable

    go_on, state, sequences, running_scores, finished, improvable = step(
        1, logits, state, sequences, running_scores, finished, improvable)

    def cond(length, go_on, state, sequences, running_scores, finished, improvable):
        return go_on

    def body(length, go_on, state, sequences, running_scores, finished, improvable):
        last = tf.reshape(sequences[:, :, length - 1], [-1])
        logits, state = decoding_step.advance(decoder, last, length - 1, state)
        return (length + 1, *step(length, logits, state, sequences, running_scores, finished, improvable))

    loop = tf.while_loop(cond, body, (tf.constant(2), go_on, state, sequences, running_scores, finished, improvable))
    best = loop[5]
    lengths = best["lengths"][:, 0]
    ids = tf.where(positions[None, :] < lengths[:, None], best["sequences"][:, 0], pad)
    return ids, tf.maximum(tf.reduce_max(lengths), 1)  # an empty batch has the start token's column
