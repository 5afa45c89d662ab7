"""SQuAD v1.1 / v2.0: a tf.data pipeline of training windows, all windows for prediction, answer decoding.

Windows are built in-graph by `keras_bert_zoo.data.features.squad_windows` (the same code span QA
serving runs): `[CLS] question [SEP] context window [SEP]`, the question cut to `max_query_length`
pieces, consecutive windows sharing `doc_stride` pieces, as Hugging Face's run_qa.

Example:
>>> from keras_bert_zoo.data import decode_answers, read_squad, squad_dataset, squad_features
>>> train = squad_dataset(read_squad("train-v2.0.json"), preprocessor, 32, shuffle=True)  # doctest: +SKIP
>>> features = squad_features(read_squad("dev-v2.0.json"), tokenizer)  # doctest: +SKIP
>>> out = model.predict(features.inputs)  # doctest: +SKIP
>>> answers, odds = decode_answers(out["start_logits"], out["end_logits"], features)  # doctest: +SKIP
"""

import dataclasses

import numpy as np
import tensorflow as tf

from keras_bert_zoo.data.features.span_qa import squad_windows
from keras_bert_zoo.data.options import DatasetOptions, build_dataset, encoder_inputs
from keras_bert_zoo.names import NO_WORD


@dataclasses.dataclass
class SquadFeatures:
    """Model inputs for every window, with what decoding needs to map tokens back to text."""

    inputs: dict  # int32 token_ids, segment_ids, padding_mask: [windows, max_seq_length]
    start_positions: np.ndarray  # [windows]; 0 ([CLS]) when the window holds no answer
    end_positions: np.ndarray  # [windows]
    example_index: np.ndarray  # [windows], index into example_ids / contexts
    window_index: np.ndarray  # [windows], 0, 1, ... within each example
    offsets: np.ndarray  # [windows, max_seq_length, 2] context character span; -1 off the context
    example_ids: list  # [examples]
    contexts: list  # [examples]


def _examples_source(examples):
    """(example index, question, context, answer start, answer end) per example, -1 for no answer."""
    spans = [(starts[0], starts[0] + len(texts[0])) if texts else (-1, -1)
             for texts, starts in zip(examples.answers, examples.answer_starts)]
    spans = np.asarray(spans, np.int32).reshape(-1, 2)
    return tf.data.Dataset.from_tensor_slices(
        (np.arange(len(examples.ids), dtype=np.int32), tf.constant(examples.questions, tf.string,
         [len(examples.ids)]), tf.constant(examples.contexts, tf.string, [len(examples.ids)]),
         spans[:, 0], spans[:, 1])
    )


def squad_features(examples, preprocessor, max_seq_length=None, doc_stride=128, max_query_length=64):
    """All windows of `examples` as numpy `SquadFeatures`, for prediction and `decode_answers`.

    Windows are `max_seq_length` pieces (the preprocessor's own unless given).

    >>> features = squad_features(read_squad("dev-v2.0.json"), preprocessor)  # doctest: +SKIP
    >>> outputs = model.predict(features.inputs, batch_size=64)  # doctest: +SKIP
    """
    max_seq_length = max_seq_length or preprocessor.sequence_length

    def windows(*batch):
        return squad_windows(*batch, preprocessor, max_seq_length, doc_stride, max_query_length)

    ds = _examples_source(examples).batch(256).map(windows, num_parallel_calls=tf.data.AUTOTUNE)
    parts = list(ds.as_numpy_iterator())
    column = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    return SquadFeatures(
        inputs=encoder_inputs(column),
        start_positions=column["start_positions"],
        end_positions=column["end_positions"],
        example_index=column["example_index"],
        window_index=column["window_index"],
        offsets=column["offsets"],
        example_ids=list(examples.ids),
        contexts=list(examples.contexts),
    )


def squad_dataset(
    examples, preprocessor, batch_size, *, doc_stride=128, max_query_length=64, shuffle=False, seed=0, **options,
):
    """Training batches `(inputs, {"start_logits": start, "end_logits": end})` for `BertSpanQA`.

    `examples`: `SquadExamples` (see `read_squad`). Windows are `preprocessor.sequence_length`
    pieces, tokenized by `preprocessor.tokenizer`; `doc_stride` and `max_query_length` as in
    `squad_windows`. Positions are token indices (0 = [CLS] = no answer here); train each output
    with `SparseCategoricalCrossentropy(from_logits=True)`. The first gold answer is used. With
    `shuffle`, examples are shuffled, then windows within a buffer of 8 batches. The number of
    batches is known (`cardinality()`): the windows are counted once, when the data set is made.
    `options`: the other `DatasetOptions` fields (`bucket_by_sequence_length`, `cache`,
    `max_examples` (questions), `input_context`, ...; see `keras_bert_zoo.data.options`).

    >>> ds = squad_dataset(read_squad("train-v1.1.json"), preprocessor, 32, shuffle=True)  # doctest: +SKIP
    """
    options = DatasetOptions(batch_size=batch_size, shuffle=shuffle, seed=seed, **options)
    tokenizer, max_seq_length = preprocessor.tokenizer, preprocessor.sequence_length

    def encode(batch):
        return squad_windows(*batch, preprocessor, max_seq_length, doc_stride, max_query_length)

    def to_model(features):
        targets = {"start_logits": features["start_positions"], "end_logits": features["end_positions"]}
        return encoder_inputs(features), targets

    sequence_keys = {"token_ids": tokenizer.pad_id, "segment_ids": 0, "padding_mask": 0, "offsets": NO_WORD}
    return build_dataset(
        _examples_source(examples), len(examples.ids), encode, to_model, options,
        sequence_keys=sequence_keys, pad_to=max_seq_length, expands=True,
    )


def decode_answers(
    start_logits, end_logits, features, n_best=20, max_answer_length=30, null_score_diff_threshold=0.0
):
    """`({id: answer text}, {id: null odds})` from per-window logits, as BERT's run_squad decodes.

    In each window the `n_best` highest start and end logits among context tokens are paired
    (start <= end, at most `max_answer_length` tokens); the best pair over an example's windows
    scores `start + end`. The null score is the lowest `start[0] + end[0]` over its windows; the
    null odds are `null score - best score`, and the answer is "" when they exceed
    `null_score_diff_threshold` (pass `float("inf")` for SQuAD v1.1: always answer). Feed both
    dicts to `kbz.metrics.squad_scores(data, answers, na_probs=null_odds)`.
    """
    start_logits, end_logits = np.asarray(start_logits), np.asarray(end_logits)
    num_examples = len(features.example_ids)
    best_score, null_score = np.full(num_examples, -np.inf), np.full(num_examples, np.inf)
    best_span = [None] * num_examples
    for window, example in enumerate(features.example_index):
        starts, ends = start_logits[window], end_logits[window]
        null_score[example] = min(null_score[example], starts[0] + ends[0])
        context = np.flatnonzero(features.offsets[window, :, 0] >= 0)
        top_starts = context[np.argsort(-starts[context], kind="stable")[:n_best]]
        top_ends = context[np.argsort(-ends[context], kind="stable")[:n_best]]
        length = top_ends[None, :] - top_starts[:, None] + 1
        scores = starts[top_starts][:, None] + ends[top_ends][None, :]
        scores = np.where((length >= 1) & (length <= max_answer_length), scores, -np.inf)
        if scores.size and scores.max() > best_score[example]:
            i, j = np.unravel_index(np.argmax(scores), scores.shape)
            best_score[example] = scores[i, j]
            best_span[example] = (features.offsets[window, top_starts[i], 0],
                                  features.offsets[window, top_ends[j], 1])
    answers, null_odds = {}, {}
    for example, qid in enumerate(features.example_ids):
        null_odds[qid] = float(null_score[example] - best_score[example])
        span = best_span[example]
        answerable = span is not None and null_odds[qid] <= null_score_diff_threshold
        answers[qid] = features.contexts[example][span[0]:span[1]] if answerable else ""
    return answers, null_odds
