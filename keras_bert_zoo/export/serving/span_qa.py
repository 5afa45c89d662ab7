"""Serving a `BertSpanQA` (SQuAD): a question and its context in, the answer text out.

`serving_default` takes `question` and `context` [batch] strings. The context is cut into windows
in the graph as in training (`kbz.data.squad_windows`: `[CLS] question [SEP] window [SEP]` of the
preprocessor's `sequence_length`, the question cut to `max_query_length` wordpieces, consecutive
windows sharing `doc_stride` pieces), every window is scored, and the best span over all windows
is chosen as `kbz.data.decode_answers` chooses it (`best_answers`, below). A long
context is not truncated: it costs one encoder row per window, up to `max_windows_per_context`
windows (`ServingLimits`). Outputs, [batch] each:

- `answer` string: the answer's text, "" when there is none;
- `answer_start`, `answer_end` int32: its character offsets in `context` (end exclusive), -1 when
  there is none. Offsets index the context as Python's `bytes.decode("utf-8", errors="replace")`
  reads it (str indices for valid UTF-8; each invalid byte run is one U+FFFD, also in `answer`);
- `score` float32: the best span's start + end logit (-inf when the context has no tokens);
- `null_odds` float32: the null score (lowest start + end logit at [CLS] over the windows) minus
  `score` (+inf when the context has no tokens);
- `has_answer` bool: whether a span exists and `null_odds <= null_score_threshold` (pass
  `float("inf")` for SQuAD v1.1 models, which always answer).

`from_ids` returns the model's `start_logits` and `end_logits` [batch, seq] of each window.

**The decoder**, `best_answers`, is the graph twin of `kbz.data.decode_answers` (BERT's run_squad
decoding), with the same choices and tie-breaks, so both give the same answers on the same logits: in
each window the `n_best` highest start and end logits among context tokens are paired (start <= end,
at most `max_answer_length` tokens, ties to the lower position); the best pair over an example's
windows scores `start + end` (ties to the earlier window, then the better-ranked start, then end). The
null score is the lowest `start[0] + end[0]` over its windows, the null odds `null score - best score`
(in float64, as numpy computes them), and the answer is "" when they exceed `null_score_threshold`.

Example:
>>> graph = span_qa_graph(model, preprocessor, doc_stride=128, max_query_length=64)  # doctest: +SKIP
>>> import numpy as np
>>> logits = np.array([[0.0, 1.0, 5.0, 2.0, -1e9]], np.float32)  # [CLS] and 3 context tokens
>>> offsets = np.array([[[-1, -1], [0, 5], [6, 8], [9, 14], [-1, -1]]], np.int32)
>>> out = best_answers(tf.constant(["Paris is lovely"]), logits, logits, offsets, [0])
>>> out["answer"].numpy()[0].decode(), int(out["answer_start"][0]), float(out["score"][0])
('is', 6, 10.0)
>>> SPAN_QA.describe({"answer": "is", "answer_start": 6, "answer_end": 8, "score": 10.0, "has_answer": True,
...                   "null_odds": -3.0})
"'is' at characters 6:8 (score 10.000)"
"""

import tensorflow as tf

from keras_bert_zoo.data.features.span_qa import squad_windows
from keras_bert_zoo.data.options import encoder_inputs
from keras_bert_zoo.export.serving.graph import (
    OutputSchema,
    ServingGraph,
    ServingLimits,
    TaskServing,
    fixed_sequence_length,
    ids_inputs,
    in_chunks,
    string_inputs,
    valid_utf8,
)


def span_qa_graph(
    model, preprocessor, doc_stride=128, max_query_length=64, n_best=20, max_answer_length=30,
    null_score_threshold=0.0, limits=ServingLimits(),
):
    """`serving_default` and `from_ids` of a span QA model; the decoding parameters as in `decode_answers`.

    The windows are scored `limits.encoder_batch_size` at a time (`in_chunks`).
    """
    sequence_length = fixed_sequence_length(preprocessor, "BertSpanQA")
    if n_best < 1 or max_answer_length < 1:
        raise ValueError(f"n_best={n_best} and max_answer_length={max_answer_length} must both be >= 1.")

    def from_ids(inputs):
        return model(inputs, training=False)

    def serve_text(question, context):
        batch = tf.shape(context)[0]
        same_batch = tf.debugging.assert_equal(
            tf.shape(question)[0], batch, message="question and context need the same batch size"
        )
        with tf.control_dependencies([same_batch]):
            question, context = limits.check_texts(question=question, context=context)
        question, context = valid_utf8(question), valid_utf8(context)
        no_answer = tf.fill([batch], -1)
        windows = squad_windows(
            tf.range(batch), question, context, no_answer, no_answer, preprocessor, sequence_length, doc_stride,
            max_query_length,
        )
        with tf.control_dependencies([limits.check_windows(windows["example_index"], batch)]):
            logits = in_chunks(from_ids, encoder_inputs(windows), limits.encoder_batch_size)
        return best_answers(
            context, logits["start_logits"], logits["end_logits"], windows["offsets"], windows["example_index"],
            n_best, max_answer_length, null_score_threshold,
        )

    return ServingGraph(
        serve_text=serve_text,
        text_inputs=string_inputs("question", "context"),
        from_ids=from_ids,
        ids_inputs=ids_inputs(preprocessor.output_names),
        default_warmup=[
            {"question": "Where does John work?", "context": "John Smith works for Acme Corp. in New York."},
            {"question": "", "context": ""},
        ],
    )


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


def _describe(example):
    if not example["has_answer"]:
        return f"no answer (score {example['score']:.3f})"
    return (f"{example['answer']!r} at characters {example['answer_start']}:{example['answer_end']} "
            f"(score {example['score']:.3f})")


SPAN_QA = OutputSchema(frozenset({"answer", "answer_start", "answer_end", "score", "null_odds", "has_answer"}),
                       _describe)

SERVING = TaskServing(
    kind="BertSpanQA",
    graph=lambda model, preprocessor, options, limits: span_qa_graph(
        model, preprocessor, options.doc_stride, options.max_query_length, options.n_best,
        options.max_answer_length, options.null_score_threshold, limits),
    schemas=(SPAN_QA,),
    takes=frozenset({"doc_stride", "max_query_length", "n_best", "max_answer_length", "null_score_threshold"}),
)
