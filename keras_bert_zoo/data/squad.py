"""SQuAD v1.1 / v2.0: JSON reader, question + context windows built in-graph, answer decoding.

Windows follow Hugging Face's run_qa preprocessing: `[CLS] question [SEP] context window [SEP]`,
the question cut to `max_query_length` pieces, and consecutive context windows sharing
`doc_stride` pieces (Hugging Face's meaning of `stride`; google-research/bert's `doc_stride` is the
step between window starts instead). A window's answer span is the first and last context token
touching the answer's characters; an unanswerable question (v2.0), or an answer not wholly inside
the window, points both positions at [CLS] (0). Token offsets are characters of the context (the
tokenizer's UTF-8 byte offsets are converted in-graph), as SQuAD's `answer_start` is.

Example:
>>> from keras_bert_zoo.data import decode_answers, read_squad, squad_dataset, squad_features
>>> train = squad_dataset(read_squad("train-v2.0.json"), tokenizer, 32, shuffle=True)  # doctest: +SKIP
>>> features = squad_features(read_squad("dev-v2.0.json"), tokenizer)  # doctest: +SKIP
>>> out = model.predict(features.inputs)  # doctest: +SKIP
>>> answers, odds = decode_answers(out["start_logits"], out["end_logits"], features)  # doctest: +SKIP
"""

import dataclasses
import json

import numpy as np
import tensorflow as tf

from keras_bert_zoo.data.options import DatasetOptions, build_dataset
from keras_bert_zoo.text.packer import BertPacker
from keras_bert_zoo.text.tokenizer import ragged_value_rowids
from keras_bert_zoo.text.words import char_offsets


@dataclasses.dataclass
class SquadExamples:
    """Questions with their contexts and gold answers (no answers: unanswerable)."""

    ids: list
    questions: list
    contexts: list
    answers: list  # [example][answer] texts
    answer_starts: list  # [example][answer] character offsets into the context


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


def read_squad(path_or_data):
    """Reads SQuAD v1.1 or v2.0 JSON (a path, or the loaded dict) into `SquadExamples`.

    v2.0 unanswerable questions (`is_impossible`) get no answers.

    >>> data = {"data": [{"paragraphs": [{"context": "Paris is in France.", "qas": [
    ...     {"id": "q1", "question": "Where?", "answers": [{"text": "France", "answer_start": 12}]}]}]}]}
    >>> read_squad(data).answers
    [['France']]
    """
    data = path_or_data
    if not isinstance(data, dict):
        with open(path_or_data, encoding="utf-8") as f:
            data = json.load(f)
    examples = SquadExamples([], [], [], [], [])
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = [] if qa.get("is_impossible") else qa["answers"]
                examples.ids.append(qa["id"])
                examples.questions.append(qa["question"])
                examples.contexts.append(paragraph["context"])
                examples.answers.append([answer["text"] for answer in answers])
                examples.answer_starts.append([answer["answer_start"] for answer in answers])
    return examples


def _count_where(compare, offsets, per_row):
    """Per row of ragged `offsets`, how many values satisfy `compare(value, per_row[row])`."""
    rows = ragged_value_rowids(offsets)
    hits = tf.cast(compare(offsets.flat_values, tf.gather(per_row, rows)), tf.int32)
    return tf.math.unsorted_segment_sum(hits, rows, tf.size(per_row))


@tf.autograph.experimental.do_not_convert  # plain tensor code: tracing it as is is faster
def squad_windows(
    example_index, questions, contexts, answer_start, answer_end, tokenizer,
    max_seq_length=384, doc_stride=128, max_query_length=64,
):
    """The windows of a batch of examples, in-graph (use in `tf.data` or `tf.function`).

    `answer_start`/`answer_end`: [batch] character span of the answer in the context (end
    exclusive), -1 for none. Returns a dict of [windows, ...] tensors: int32 `token_ids`,
    `segment_ids`, `padding_mask`, `start_positions`, `end_positions`, `example_index`,
    `window_index` and `offsets` [windows, max_seq_length, 2].

    >>> from keras_bert_zoo.text import BertTokenizer
    >>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who", "?", "bob", "is"])
    >>> out = squad_windows([0], ["Who?"], ["Bob is Bob is"], [7], [10], tokenizer, 8, 1, 2)
    >>> out["token_ids"].numpy().tolist()  # 3 context pieces a window, 1 shared
    [[2, 5, 6, 3, 7, 8, 7, 3], [2, 5, 6, 3, 7, 8, 3, 0]]
    >>> out["start_positions"].numpy().tolist(), out["offsets"].numpy()[1, 4:7].tolist()
    ([6, 4], [[7, 10], [11, 13], [-1, -1]])
    """
    room = max_seq_length - 3 - max_query_length
    if room <= doc_stride:
        raise ValueError(
            f"max_seq_length - max_query_length - 3 = {room} context pieces per window must exceed "
            f"doc_stride={doc_stride}."
        )
    question = tokenizer(questions)[:, :max_query_length]
    context, begin, end = tokenizer.tokenize_with_offsets(contexts)
    begin, end = char_offsets(contexts, begin), char_offsets(contexts, end)
    question_length = tf.cast(question.row_lengths(), tf.int32)
    context_length = tf.cast(context.row_lengths(), tf.int32)
    room = max_seq_length - 3 - question_length  # context pieces per window
    step = room - doc_stride
    num_windows = 1 + tf.maximum(0, (context_length - room + step - 1) // step)

    windows = tf.ragged.range(num_windows)
    example = tf.cast(ragged_value_rowids(windows), tf.int32)
    window = windows.flat_values
    start = window * tf.gather(step, example)
    stop = tf.minimum(start + tf.gather(room, example), tf.gather(context_length, example))
    first_piece = tf.gather(tf.cast(context.row_starts(), tf.int32), example)
    pieces = tf.ragged.range(first_piece + start, first_piece + stop)  # [windows, (pieces)]
    window_context = tf.gather(context.flat_values, pieces)
    window_begin, window_end = tf.gather(begin.flat_values, pieces), tf.gather(end.flat_values, pieces)

    packer = BertPacker(tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id, max_seq_length)
    features = packer((tf.gather(question, example), window_context))
    prefix = tf.gather(question_length, example) + 2  # [CLS] question [SEP]
    no_offset = tf.ragged.range(prefix) * 0 - 1

    def pad_offsets(values):
        return tf.concat([no_offset, values], axis=1).to_tensor(-1, shape=[None, max_seq_length])

    features["offsets"] = tf.stack([pad_offsets(window_begin), pad_offsets(window_end)], axis=-1)

    answer_start, answer_end = tf.gather(answer_start, example), tf.gather(answer_end, example)
    inside = (
        (answer_start >= 0)
        & (tf.reduce_min(window_begin, axis=1) <= answer_start)
        & (tf.reduce_max(window_end, axis=1) >= answer_end)
    )
    first = _count_where(tf.less_equal, window_begin, answer_start) - 1  # last token starting by it
    last = _count_where(tf.less, window_end, answer_end)  # first token reaching the answer's end
    features["start_positions"] = tf.where(inside, prefix + first, 0)
    features["end_positions"] = tf.where(inside, prefix + last, 0)
    features["example_index"] = tf.gather(example_index, example)
    features["window_index"] = window
    return features


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


def squad_features(examples, tokenizer, max_seq_length=384, doc_stride=128, max_query_length=64):
    """All windows of `examples` as numpy `SquadFeatures`, for prediction and `decode_answers`.

    >>> features = squad_features(read_squad("dev-v2.0.json"), tokenizer)  # doctest: +SKIP
    >>> outputs = model.predict(features.inputs, batch_size=64)  # doctest: +SKIP
    """

    def windows(*batch):
        return squad_windows(*batch, tokenizer, max_seq_length, doc_stride, max_query_length)

    ds = _examples_source(examples).batch(256).map(windows, num_parallel_calls=tf.data.AUTOTUNE)
    parts = list(ds.as_numpy_iterator())
    column = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    return SquadFeatures(
        inputs={key: column[key] for key in ("token_ids", "segment_ids", "padding_mask")},
        start_positions=column["start_positions"],
        end_positions=column["end_positions"],
        example_index=column["example_index"],
        window_index=column["window_index"],
        offsets=column["offsets"],
        example_ids=list(examples.ids),
        contexts=list(examples.contexts),
    )


def squad_dataset(
    examples, tokenizer, batch_size, max_seq_length=384, doc_stride=128, max_query_length=64,
    shuffle=False, seed=0, **options,
):
    """Training batches `(inputs, {"start_logits": start, "end_logits": end})` for `BertSpanQA`.

    Positions are token indices (0 = [CLS] = no answer here); train each output with
    `SparseCategoricalCrossentropy(from_logits=True)`. The first gold answer is used. With
    `shuffle`, examples are shuffled, then windows within a buffer of 8 batches.
    `options`: the other `DatasetOptions` fields (`bucket_by_sequence_length`, `cache`,
    `max_examples` (questions), `input_context`, ...; see `keras_bert_zoo.data.options`).

    >>> ds = squad_dataset(read_squad("train-v1.1.json"), tokenizer, 32, shuffle=True)  # doctest: +SKIP
    """
    options = DatasetOptions(batch_size=batch_size, shuffle=shuffle, seed=seed, **options)

    def encode(batch):
        return squad_windows(*batch, tokenizer, max_seq_length, doc_stride, max_query_length)

    def to_model(features):
        inputs = {key: features[key] for key in ("token_ids", "segment_ids", "padding_mask")}
        targets = {"start_logits": features["start_positions"], "end_logits": features["end_positions"]}
        return inputs, targets

    sequence_keys = {"token_ids": tokenizer.pad_id, "segment_ids": 0, "padding_mask": 0, "offsets": -1}
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
