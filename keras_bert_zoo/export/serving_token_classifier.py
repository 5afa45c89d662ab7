"""Serving graph of a `BertTokenClassifier` (NER): raw text in, tagged words and entity spans out.

`serving_default` takes `text` [batch] strings. Each text is split into words in the graph where
BERT's basic tokenizer splits it (whitespace and punctuation; `keras_bert_zoo.text.words`), the
words are packed as in training (`kbz.data.ner_features`), each word takes the tag predicted at
its first wordpiece (as `kbz.data.predictions_to_word_tags`), and entities are decoded from the
word tags as `kbz.metrics.extract_entities` does (BIO/IOB2, IOB1 or IOBES tags). Outputs, padded
to the longest row of the batch:

- `words`, `tags` [batch, words] string (padding ""): the tagged words and their tags;
- `word_start`, `word_end` [batch, words] int32 (padding -1): character offsets, end exclusive;
- `num_words` [batch] int32: the tagged words in each row;
- `truncated` [batch] bool: words that do not fit in the preprocessor's `sequence_length` (with
  [CLS] and [SEP]) are cut, as in training, and get no tag: a 100,000-character text is tagged
  only up to there. True when any word of the text was cut;
- `entity_text`, `entity_type` [batch, entities] string (padding "");
- `entity_start`, `entity_end` [batch, entities] int32 (padding -1): character offsets, end exclusive;
- `entity_score` [batch, entities] float32 (padding 0): the mean over the entity's words of the
  probability of the tag each word got;
- `num_entities` [batch] int32.

Character offsets index the text as Python's `bytes.decode("utf-8", errors="replace")` reads it:
str indices for valid UTF-8, each invalid byte run one U+FFFD otherwise (and output strings have
those U+FFFD). Words the tokenizer reads as nothing (control characters, U+FFFD) are dropped.

`from_ids` returns per token `probabilities` [batch, seq, tags] float32, `tag_id` [batch, seq]
int32 and `tag` [batch, seq] string.

Example:
>>> graph = token_classifier_graph(tagger, preprocessor, ["O", "B-PER", "I-PER"])  # doctest: +SKIP
"""

import tensorflow as tf

from keras_bert_zoo.data.conll import ner_features
from keras_bert_zoo.export.entity_spans import entity_spans, parse_labels
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
from keras_bert_zoo.text.tokenizer import ragged_value_rowids
from keras_bert_zoo.text.words import char_offsets, split_words, substrings


def _position_in_row(ragged):
    """The index of each flat value of `ragged` within its row."""
    index = tf.range(tf.size(ragged.flat_values, out_type=tf.int64))
    return index - tf.gather(ragged.row_starts(), ragged_value_rowids(ragged))


def _select(keep, *ragged):
    """The values of each ragged tensor where the flat bool `keep` holds, in the same rows.

    Written with flat ops (no `tf.ragged.boolean_mask`): ragged ops add validation asserts that
    make the served graph several times larger and slower to load.
    """
    lengths = tf.math.unsorted_segment_sum(tf.cast(keep, tf.int64), ragged_value_rowids(ragged[0]), ragged[0].nrows())
    return [tf.RaggedTensor.from_row_lengths(tf.boolean_mask(r.flat_values, keep), lengths, validate=False)
            for r in ragged]


def _char_spans(texts, begin, end):
    """Character offsets of byte spans (ragged alike), converted in one pass."""
    both = tf.RaggedTensor.from_row_lengths(
        tf.reshape(tf.stack([begin.flat_values, end.flat_values], axis=1), [-1]), 2 * begin.row_lengths(),
        validate=False,
    )
    chars = tf.reshape(tf.cast(char_offsets(texts, both).flat_values, tf.int32), [-1, 2])
    return begin.with_flat_values(chars[:, 0]), begin.with_flat_values(chars[:, 1])


def token_classifier_graph(model, preprocessor, label_names, limits=ServingLimits()):
    """`serving_default` and `from_ids` of a tagger whose classes are the tags `label_names`; the encoder
    runs on `limits.encoder_batch_size` texts at a time (`in_chunks`)."""
    if label_names is None:
        raise ValueError(
            "Exporting a BertTokenClassifier needs label_names, the tag of each class "
            "(e.g. kbz.data.ner_label_names(train.tags))."
        )
    names = [str(name) for name in label_names]
    if len(names) != model.num_classes:
        raise ValueError(f"{len(names)} label names for {model.num_classes} classes.")
    parse_labels(names)  # tags that are not O, B-, I-, E- or S- fail here, not at serving time
    tokenizer = preprocessor.tokenizer
    sequence_length = fixed_sequence_length(preprocessor, "BertTokenClassifier")

    def from_ids(inputs):
        probabilities = tf.nn.softmax(model(inputs, training=False), axis=-1)
        tag_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"probabilities": probabilities, "tag_id": tag_id, "tag": tf.gather(tf.constant(names), tag_id)}

    def serve_text(text):
        text = valid_utf8(limits.check_texts(text=text)[0])
        words, begin, end = split_words(text)
        # Words the tokenizer reads as nothing are dropped; of the rest, at most sequence_length - 2
        # (a piece each at least) can fit, so only those are tokenized again by ner_features.
        words, begin, end = _select(tokenizer(words.flat_values).row_lengths() > 0, words, begin, end)
        num_words = tf.cast(words.row_lengths(), tf.int32)
        words, begin, end = _select(_position_in_row(words) < sequence_length - 2, words, begin, end)
        features = ner_features(words, tokenizer, sequence_length)
        tokens = in_chunks(from_ids, encoder_inputs(features), limits.encoder_batch_size)
        word_ids = features["word_ids"]
        previous = tf.pad(word_ids[:, :-1], [[0, 0], [1, 0]], constant_values=-1)
        first_piece = (word_ids >= 0) & (word_ids != previous)  # words in order, each at its first piece
        num_tagged = tf.reduce_sum(tf.cast(first_piece, tf.int32), axis=1)
        tagged = _position_in_row(words) < tf.gather(tf.cast(num_tagged, tf.int64), ragged_value_rowids(words))
        words, begin, end = _select(tagged, words, begin, end)

        def per_word(values):
            return words.with_flat_values(tf.boolean_mask(values, first_piece))

        tag_ids = per_word(tokens["tag_id"])
        spans = entity_spans(tag_ids, per_word(tf.reduce_max(tokens["probabilities"], axis=-1)), names)
        word_start, word_end = _char_spans(text, begin, end)
        row_start = tf.gather(words.row_starts(), ragged_value_rowids(spans["type"]))
        first = row_start + tf.cast(spans["first_word"].flat_values, tf.int64)
        last = row_start + tf.cast(spans["end_word"].flat_values, tf.int64) - 1

        def per_entity(values, padding):
            return spans["type"].with_flat_values(values).to_tensor(padding)

        entity_text = substrings(text, per_entity(tf.gather(begin.flat_values, first), 0),
                                 per_entity(tf.gather(end.flat_values, last), 0))
        return {
            "words": substrings(text, begin.to_tensor(0), end.to_tensor(0)),
            "tags": tf.gather(tf.constant(names), tag_ids).to_tensor(""),
            "word_start": word_start.to_tensor(-1),
            "word_end": word_end.to_tensor(-1),
            "num_words": num_tagged,
            "truncated": (num_words > num_tagged) | (features["cut_words"] > 0),
            "entity_text": entity_text,
            "entity_type": spans["type"].to_tensor(""),
            "entity_start": per_entity(tf.gather(word_start.flat_values, first), -1),
            "entity_end": per_entity(tf.gather(word_end.flat_values, last), -1),
            "entity_score": spans["score"].to_tensor(0.0),
            "num_entities": tf.cast(spans["type"].row_lengths(), tf.int32),
        }

    return ServingGraph(
        serve_text=serve_text,
        text_inputs=string_inputs("text"),
        from_ids=from_ids,
        ids_inputs=ids_inputs(),
        default_warmup=[{"text": "John Smith works for Acme Corp. in New York."}, {"text": ""}],
    )
