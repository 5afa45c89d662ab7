"""Serving graph of a `BertSpanQA` (SQuAD): a question and its context in, the answer text out.

`serving_default` takes `question` and `context` [batch] strings. The context is cut into windows
in the graph as in training (`kbz.data.squad_windows`: `[CLS] question [SEP] window [SEP]` of the
preprocessor's `sequence_length`, the question cut to `max_query_length` wordpieces, consecutive
windows sharing `doc_stride` pieces), every window is scored, and the best span over all windows
is chosen as `kbz.data.decode_answers` chooses it (`keras_bert_zoo.export.answer_spans`). A long
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

Example:
>>> graph = span_qa_graph(model, preprocessor, doc_stride=128, max_query_length=64)  # doctest: +SKIP
"""

import tensorflow as tf

from keras_bert_zoo.data.squad import squad_windows
from keras_bert_zoo.export.answer_spans import best_answers
from keras_bert_zoo.export.serving_graph import (
    ServingGraph,
    ServingLimits,
    encoder_inputs,
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
    tokenizer = preprocessor.tokenizer

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
            tf.range(batch), question, context, no_answer, no_answer, tokenizer, sequence_length, doc_stride,
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
        ids_inputs=ids_inputs(),
        default_warmup=[
            {"question": "Where does John work?", "context": "John Smith works for Acme Corp. in New York."},
            {"question": "", "context": ""},
        ],
    )
