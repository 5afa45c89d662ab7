"""CoNLL-2003 style NER files, and a tf.data pipeline that puts word tags on wordpieces in-graph.

Label convention (as Hugging Face's run_ner): a word's tag goes on its first wordpiece; its other
pieces, [CLS], [SEP] and padding get `IGNORE_LABEL` (-100) and a `sample_weight` of 0. Train with
`keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_LABEL)` (the
mean over labelled tokens) and `weighted_metrics=["accuracy"]`. `word_ids` gives, per token, the
index of its word in the sentence (-1 for [CLS], [SEP] and padding).

Example:
>>> from keras_bert_zoo.data import read_conll, ner_dataset, ner_label_names  # doctest: +SKIP
>>> train = read_conll("conll2003/train.txt")  # doctest: +SKIP
>>> labels = ner_label_names(train.tags)  # doctest: +SKIP
>>> ds = ner_dataset(train.words, train.tags, tokenizer, labels, 128, 32, shuffle=True)  # doctest: +SKIP
"""

import dataclasses
import re
import warnings

import numpy as np
import tensorflow as tf

from keras_bert_zoo.data.options import DatasetOptions, build_dataset
from keras_bert_zoo.text.packer import BertPacker

IGNORE_LABEL = -100
_TAG = re.compile(r"^(O|[BIES]-.+)$")


@dataclasses.dataclass
class TaggedSentences:
    """Sentences as lists of words, with one tag per word."""

    words: list  # [sentence][word]
    tags: list  # [sentence][word]


def _tag_column(rows, path):
    """The last column whose every value looks like a tag (O, B-X, I-X, E-X, S-X)."""
    width = len(rows[0][1])
    for column in range(width - 1, 0, -1):
        if all(_TAG.match(fields[column]) for _, fields in rows):
            return column
    raise ValueError(f"{path}: no column holds only O / B-X / I-X tags; pass tag_column=.")


def read_conll(path, tag_column=None):
    """Reads `TOKEN POS CHUNK TAG`, `TOKEN TAG` or `TOKEN TAG 0` lines into `TaggedSentences`.

    Blank lines separate sentences and `-DOCSTART-` lines are skipped. The tag column is the last
    one that holds only tags (O, B-X, I-X, E-X, S-X), unless `tag_column` (an index, may be negative)
    says otherwise. Every line must have the same number of fields.

    Example:
    >>> data = read_conll("tests/data/conll2003/test_first300.txt")  # doctest: +SKIP
    >>> data.words[1], data.tags[1]  # doctest: +SKIP
    (['Nadim', 'Ladki'], ['B-PER', 'I-PER'])
    """
    rows, sentence_of_row, sentence = [], [], 0
    with open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                sentence += 1
            elif fields[0] != "-DOCSTART-":
                if rows and len(fields) != len(rows[0][1]):
                    raise ValueError(
                        f"{path}:{line_number} has {len(fields)} fields, line {rows[0][0]} has "
                        f"{len(rows[0][1])}."
                    )
                rows.append((line_number, fields))
                sentence_of_row.append(sentence)
    if not rows:
        return TaggedSentences([], [])
    if len(rows[0][1]) < 2:
        raise ValueError(f"{path}: lines need a token and a tag, got {rows[0][1]}.")
    column = _tag_column(rows, path) if tag_column is None else tag_column
    words, tags, previous = [], [], None
    for (_, fields), index in zip(rows, sentence_of_row):
        if index != previous:
            words.append([])
            tags.append([])
            previous = index
        words[-1].append(fields[0])
        tags[-1].append(fields[column])
    return TaggedSentences(words, tags)


def ner_label_names(tags):
    """The distinct tags of `tags` ([sentence][word]): "O" first, then by entity type, B- before I-.

    >>> ner_label_names([["B-PER", "I-PER", "O", "B-LOC"]])
    ['O', 'B-LOC', 'B-PER', 'I-PER']
    """
    distinct = {tag for sentence in tags for tag in sentence}
    return sorted(distinct, key=lambda tag: (tag != "O", tag[2:], tag[:2]))


@tf.autograph.experimental.do_not_convert  # plain tensor code: tracing it as is is faster
def ner_features(words, tokenizer, sequence_length, tag_ids=None):
    """Model inputs, `word_ids` and (with `tag_ids`) labels for a batch of pre-split sentences.

    `words`: ragged [batch, (words)] strings; `tag_ids`: ragged [batch, (words)] ints or None.
    Each word is tokenized on its own. Whole words are kept up to `sequence_length - 2` pieces; the
    rest are cut (a first word longer than that alone keeps its first pieces). Returns a dict of
    [batch, sequence_length] int32 `token_ids`, `segment_ids`, `padding_mask`, `word_ids`, [batch]
    `cut_words` (words that lost any piece), and, with `tag_ids`, int32 `labels` and float32
    `sample_weight`. Graph-friendly: use it in `tf.data` or `tf.function`.

    >>> from keras_bert_zoo.text import BertTokenizer
    >>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##able", "to"])
    >>> words, tags = tf.ragged.constant([["Unable", "to"]]), tf.ragged.constant([[1, 2]])
    >>> out = ner_features(words, tokenizer, 6, tags)
    >>> out["token_ids"].numpy().tolist(), out["word_ids"].numpy().tolist()
    ([[2, 5, 6, 7, 3, 0]], [[-1, 0, 0, 1, -1, -1]])
    >>> out["labels"].numpy().tolist()
    [[-100, 1, -100, 2, -100, -100]]
    """
    budget = sequence_length - 2
    num_sentences = tf.cast(words.nrows(), tf.int32)
    pieces = words.with_flat_values(tokenizer(words.flat_values))  # [batch, words, pieces]
    piece_splits = tf.cast(pieces.values.row_splits, tf.int32)  # piece range of each word
    word_sentence = tf.cast(words.value_rowids(), tf.int32)
    word_in_sentence = tf.range(tf.size(word_sentence)) - tf.gather(
        tf.cast(words.row_starts(), tf.int32), word_sentence
    )
    sentence_first_piece = tf.gather(piece_splits, tf.cast(words.row_starts(), tf.int32))
    word_start = piece_splits[:-1] - tf.gather(sentence_first_piece, word_sentence)
    word_end = piece_splits[1:] - tf.gather(sentence_first_piece, word_sentence)
    cut = (word_end > budget) & (word_end > word_start)
    cut_words = tf.math.unsorted_segment_sum(tf.cast(cut, tf.int32), word_sentence, num_sentences)

    piece_word = tf.cast(pieces.values.value_rowids(), tf.int32)  # global word index of each piece
    position = tf.range(tf.size(piece_word)) - tf.gather(
        sentence_first_piece, tf.gather(word_sentence, piece_word)
    )
    keep = tf.gather(word_end <= budget, piece_word) | (
        (tf.gather(word_start, piece_word) == 0) & (position < budget)
    )
    is_first_piece = tf.range(tf.size(piece_word)) == tf.gather(piece_splits, piece_word)
    kept_word = tf.boolean_mask(piece_word, keep)
    rows = tf.gather(word_sentence, kept_word)

    def per_sentence(values):
        return tf.RaggedTensor.from_value_rowids(values, rows, nrows=num_sentences)

    def with_specials(values, fill):  # fill at [CLS], [SEP] and padding
        edge = tf.fill([num_sentences, 1], fill)
        return tf.concat([edge, per_sentence(values), edge], axis=1).to_tensor(
            fill, shape=[None, sequence_length]
        )

    packer = BertPacker(tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id, sequence_length)
    features = packer(per_sentence(tf.boolean_mask(pieces.flat_values, keep)))
    features["word_ids"] = with_specials(tf.gather(word_in_sentence, kept_word), -1)
    features["cut_words"] = cut_words
    if tag_ids is not None:
        tag_of_piece = tf.gather(tf.cast(tag_ids.flat_values, tf.int32), piece_word)
        piece_labels = tf.where(is_first_piece, tag_of_piece, IGNORE_LABEL)
        labels = with_specials(tf.boolean_mask(piece_labels, keep), IGNORE_LABEL)
        features["labels"] = labels
        features["sample_weight"] = tf.cast(labels != IGNORE_LABEL, tf.float32)
    return features


def _ragged(sentences, dtype):
    flat = [item for sentence in sentences for item in sentence]
    lengths = [len(sentence) for sentence in sentences]
    return tf.RaggedTensor.from_row_lengths(tf.constant(flat, dtype, shape=[len(flat)]), lengths)


def _tag_ids(tags, label_names):
    index = {name: i for i, name in enumerate(label_names)}
    unknown = sorted({tag for sentence in tags for tag in sentence} - set(index))
    if unknown:
        raise ValueError(f"Tags {unknown} are not in label_names {list(label_names)}.")
    return _ragged([[index[tag] for tag in sentence] for sentence in tags], tf.int32)


def ner_word_ids(sentences, tokenizer, sequence_length):
    """`(word_ids, cut_words)` as numpy: [sentences, sequence_length] and [sentences].

    The same alignment `ner_dataset` uses, for mapping predictions back to words.

    Example:
    >>> word_ids, cut = ner_word_ids(test.words, tokenizer, 128)  # doctest: +SKIP
    """
    features = ner_features(_ragged(sentences, tf.string), tokenizer, sequence_length)
    return features["word_ids"].numpy(), features["cut_words"].numpy()


def ner_dataset(
    sentences, tags, tokenizer, label_names, sequence_length=128, batch_size=32, shuffle=False, seed=0,
    **options,
):
    """Batches of `(inputs, labels, sample_weight)` for a `BertTokenClassifier`, built in-graph.

    `sentences`: lists of words; `tags`: a tag per word, or None for `inputs`-only batches (then
    `label_names` is unused). Labels follow the module's convention (-100 ignored). Words that do
    not fit in `sequence_length` are reported with a warning (see `ner_word_ids` for the counts).
    The sentences are tokenized once, up front (a few int32 rows of `sequence_length` each).
    `options`: the other `DatasetOptions` fields (`bucket_by_sequence_length`, `cache`,
    `max_examples`, `input_context`, ...; see `keras_bert_zoo.data.options`).

    Example:
    >>> labels = ner_label_names(data.tags)  # doctest: +SKIP
    >>> ds = ner_dataset(data.words, data.tags, tokenizer, labels, 128, 32)  # doctest: +SKIP
    """
    options = DatasetOptions(batch_size=batch_size, shuffle=shuffle, seed=seed, **options)
    if options.max_examples is not None:
        sentences = sentences[: options.max_examples]
        tags = None if tags is None else tags[: options.max_examples]
    tag_ids = None if tags is None else _tag_ids(tags, label_names)
    features = ner_features(_ragged(sentences, tf.string), tokenizer, sequence_length, tag_ids)  # once
    cut_words = features["cut_words"].numpy()
    if cut_words.any():
        warnings.warn(
            f"{cut_words.sum()} words in {np.count_nonzero(cut_words)} of {len(sentences)} sentences "
            f"do not fit in sequence_length={sequence_length}: they get no label and no prediction.",
            stacklevel=2,
        )

    def to_model(features):
        inputs = {key: features[key] for key in ("token_ids", "segment_ids", "padding_mask")}
        return inputs if tags is None else (inputs, features["labels"], features["sample_weight"])

    sequence_keys = {"token_ids": tokenizer.pad_id, "segment_ids": 0, "padding_mask": 0, "word_ids": -1,
                     "labels": IGNORE_LABEL, "sample_weight": 0.0}
    return build_dataset(
        tf.data.Dataset.from_tensor_slices(features), len(sentences), lambda batch: batch, to_model, options,
        sequence_keys={key: pad for key, pad in sequence_keys.items() if key in features}, pad_to=sequence_length,
    )


def predictions_to_word_tags(logits, word_ids, label_names, num_words=None):
    """Word-level tags from token logits: each word takes the argmax at its first wordpiece.

    `logits` [sentences, seq, classes], `word_ids` [sentences, seq] (-1 for specials and padding).
    `num_words`: each sentence's word count (or its words), so words cut by truncation, or that
    tokenize to nothing, get "O"; by default a sentence ends at its last word seen.
    The result feeds `kbz.metrics.entity_scores(gold_tags, predicted_tags)`.

    >>> predictions_to_word_tags([[[0, 0], [0, 9], [9, 0], [0, 0]]], [[-1, 0, 0, -1]], ["O", "B-PER"])
    [['B-PER']]
    """
    predicted = np.argmax(np.asarray(logits), axis=-1)
    word_ids = np.asarray(word_ids)
    previous = np.pad(word_ids[:, :-1], ((0, 0), (1, 0)), constant_values=-1)
    first = (word_ids >= 0) & (word_ids != previous)
    tags = []
    for i in range(len(word_ids)):
        if num_words is None:
            length = int(word_ids[i].max()) + 1
        else:
            count = num_words[i]
            length = count if isinstance(count, (int, np.integer)) else len(count)
        sentence = ["O"] * length
        for word, label in zip(word_ids[i][first[i]], predicted[i][first[i]]):
            sentence[word] = label_names[label]
        tags.append(sentence)
    return tags
