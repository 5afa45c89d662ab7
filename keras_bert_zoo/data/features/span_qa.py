"""SQuAD windows: question + context windows built in-graph; shared by `squad_dataset` and span QA serving.

Windows follow Hugging Face's run_qa preprocessing: `[CLS] question [SEP] context window [SEP]`,
the question cut to `max_query_length` pieces, and consecutive context windows sharing
`doc_stride` pieces (Hugging Face's meaning of `stride`; google-research/bert's `doc_stride` is the
step between window starts instead). A window's answer span is the first and last context token
touching the answer's characters; an unanswerable question (v2.0), or an answer not wholly inside
the window, points both positions at [CLS] (0). Token offsets are characters of the context (the
tokenizer's UTF-8 byte offsets are converted in-graph), as SQuAD's `answer_start` is.

"""

import tensorflow as tf

from keras_bert_zoo.text.tokenizer import ragged_value_rowids
from keras_bert_zoo.text.words import char_offsets


def _count_where(compare, offsets, per_row):
    """Per row of ragged `offsets`, how many values satisfy `compare(value, per_row[row])`."""
    rows = ragged_value_rowids(offsets)
    hits = tf.cast(compare(offsets.flat_values, tf.gather(per_row, rows)), tf.int32)
    return tf.math.unsorted_segment_sum(hits, rows, tf.size(per_row))


@tf.autograph.experimental.do_not_convert  # plain tensor code: tracing it as is is faster
def squad_windows(
    example_index, questions, contexts, answer_start, answer_end, preprocessor,
    max_seq_length=384, doc_stride=128, max_query_length=64,
):
    """The windows of a batch of examples, in-graph (use in `tf.data` or `tf.function`).

    `answer_start`/`answer_end`: [batch] character span of the answer in the context (end
    exclusive), -1 for none. Questions and contexts are tokenized by `preprocessor.tokenizer` and packed
    as `preprocessor` packs pairs. Returns a dict of [windows, ...] tensors: int32 encoder inputs
    (`token_ids`, `padding_mask`, `segment_ids` where the family has them), `start_positions`,
    `end_positions`, `example_index`, `window_index` and `offsets` [windows, max_seq_length, 2].

    >>> from keras_bert_zoo.text import BertPreprocessor, BertTokenizer
    >>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who", "?", "bob", "is"])
    >>> out = squad_windows([0], ["Who?"], ["Bob is Bob is"], [7], [10], BertPreprocessor(tokenizer), 8, 1, 2)
    >>> out["token_ids"].numpy().tolist()  # 3 context pieces a window, 1 shared
    [[2, 5, 6, 3, 7, 8, 7, 3], [2, 5, 6, 3, 7, 8, 3, 0]]
    >>> out["start_positions"].numpy().tolist(), out["offsets"].numpy()[1, 4:7].tolist()
    ([6, 4], [[7, 10], [11, 13], [-1, -1]])
    """
    tokenizer, specials = preprocessor.tokenizer, 2 + preprocessor.pair_separators  # [CLS] q [SEP] c [SEP]
    room = max_seq_length - specials - max_query_length
    if room <= doc_stride:
        raise ValueError(
            f"max_seq_length - max_query_length - {specials} = {room} context pieces per window must exceed "
            f"doc_stride={doc_stride}."
        )
    question = tokenizer(questions)[:, :max_query_length]
    context, begin, end = tokenizer.tokenize_with_offsets(contexts)
    begin, end = char_offsets(contexts, begin), char_offsets(contexts, end)
    question_length = tf.cast(question.row_lengths(), tf.int32)
    context_length = tf.cast(context.row_lengths(), tf.int32)
    room = max_seq_length - specials - question_length  # context pieces per window
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

    packer = preprocessor.packer_for(max_seq_length)
    features = packer((tf.gather(question, example), window_context))
    prefix = tf.gather(question_length, example) + specials - 1  # [CLS] question [SEP] (RoBERTa: two)
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
