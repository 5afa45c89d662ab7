"""NER: a tf.data pipeline of `(inputs, labels, sample_weight)` from `TaggedSentences`, and word tags from
token predictions.

Word tags go on wordpieces in-graph by `keras_bert_zoo.data.features.ner_features` (the same code
the token classifier's serving runs): a word's tag on its first wordpiece, `IGNORE_LABEL` (-100)
and a `sample_weight` of 0 elsewhere. Train with
`keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_LABEL)` and
`weighted_metrics=["accuracy"]`.

Example:
>>> from keras_bert_zoo.data import read_conll, ner_dataset, ner_label_names  # doctest: +SKIP
>>> train = read_conll("conll2003/train.txt")  # doctest: +SKIP
>>> labels = ner_label_names(train.tags)  # doctest: +SKIP
>>> ds = ner_dataset(train, preprocessor, 32, label_names=labels, shuffle=True)  # doctest: +SKIP
"""

import warnings

import numpy as np
import tensorflow as tf

from keras_bert_zoo.data.features.ner import ner_features
from keras_bert_zoo.data.options import DatasetOptions, build_dataset, encoder_inputs
from keras_bert_zoo.data.readers.conll import TaggedSentences
from keras_bert_zoo.names import IGNORE_LABEL, NO_WORD


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


def ner_word_ids(sentences, preprocessor, sequence_length=None):
    """`(word_ids, cut_words)` as numpy: [sentences, sequence_length] and [sentences].

    The same alignment `ner_dataset` uses, for mapping predictions back to words.

    Example:
    >>> word_ids, cut = ner_word_ids(test.words, preprocessor, 128)  # doctest: +SKIP
    """
    features = ner_features(_ragged(sentences, tf.string), preprocessor, sequence_length)
    return features["word_ids"].numpy(), features["cut_words"].numpy()


def ner_dataset(examples, preprocessor, batch_size, *, label_names=None, shuffle=False, seed=0, **options):
    """Batches of `(inputs, labels, sample_weight)` for a `BertTokenClassifier`, built in-graph.

    `examples`: `TaggedSentences` (see `read_conll`); with `tags=None` (or a plain list of word
    lists) the batches are `inputs` alone and `label_names` is unused. Otherwise each tag maps to
    its index in `label_names` (keyword; `ner_label_names(examples.tags)` lists a file's tags).
    Sentences are tokenized by `preprocessor.tokenizer` into `preprocessor.sequence_length`
    pieces; labels follow the module's convention (-100 ignored). Words that do not fit are
    reported with a warning (see `ner_word_ids` for the counts). The sentences are tokenized once,
    up front (a few int32 rows of `sequence_length` each).
    `options`: the other `DatasetOptions` fields (`bucket_by_sequence_length`, `cache`,
    `max_examples`, `input_context`, ...; see `keras_bert_zoo.data.options`).

    Example:
    >>> data = read_conll("conll2003/train.txt")  # doctest: +SKIP
    >>> ds = ner_dataset(data, preprocessor, 32, label_names=ner_label_names(data.tags))  # doctest: +SKIP
    """
    options = DatasetOptions(batch_size=batch_size, shuffle=shuffle, seed=seed, **options)
    if not isinstance(examples, TaggedSentences):
        examples = TaggedSentences(examples, None)
    sentences, tags = examples.words, examples.tags
    tokenizer, sequence_length = preprocessor.tokenizer, preprocessor.sequence_length
    if options.max_examples is not None:
        sentences = sentences[: options.max_examples]
        tags = None if tags is None else tags[: options.max_examples]
    if tags is not None and label_names is None:
        raise ValueError("ner_dataset needs label_names= to map tags to classes (see ner_label_names).")
    tag_ids = None if tags is None else _tag_ids(tags, label_names)
    features = ner_features(_ragged(sentences, tf.string), preprocessor, sequence_length, tag_ids)  # once
    cut_words = features["cut_words"].numpy()
    if cut_words.any():
        warnings.warn(
            f"{cut_words.sum()} words in {np.count_nonzero(cut_words)} of {len(sentences)} sentences "
            f"do not fit in sequence_length={sequence_length}: they get no label and no prediction.",
            stacklevel=2,
        )

    def to_model(features):
        inputs = encoder_inputs(features)
        return inputs if tags is None else (inputs, features["labels"], features["sample_weight"])

    sequence_keys = {"token_ids": tokenizer.pad_id, "segment_ids": 0, "padding_mask": 0, "word_ids": NO_WORD,
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
