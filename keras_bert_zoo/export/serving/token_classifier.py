"""Serving a `BertTokenClassifier` (NER): raw text in, tagged words and entity spans out.

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

The .tflite answers per wordpiece as `from_ids` does, plus `token_ids`, `token` (each wordpiece's text)
and `padding_mask` (`tflite_outputs`): the word and entity decoding needs `UnicodeTranscode`, which
has no TFLite kernel. `wordpiece_entities` groups those into words and entities on the host.

**The entity decoder**, `entity_spans`, decodes entities from BIO (IOB2), IOB1 or IOBES word tags in
the graph, as `kbz.metrics.extract_entities` (seqeval's default) does: a word continues the open
entity only if its tag is `I-` or `E-` of the type of the word before, and that word's tag is `B-`
or `I-`; any other tag but `O` starts an entity. A tag without a type (`B`) has type `_`.

Example:
>>> graph = token_classifier_graph(tagger, preprocessor, ["O", "B-PER", "I-PER"])  # doctest: +SKIP
>>> labels = ["O", "B-PER", "I-PER", "B-LOC"]
>>> tag_ids = tf.ragged.constant([[1, 2, 0, 3], [2]])
>>> spans = entity_spans(tag_ids, tf.ones_like(tag_ids, tf.float32), labels)
>>> spans["type"].to_list(), spans["first_word"].to_list(), spans["end_word"].to_list()
([[b'PER', b'LOC'], [b'PER']], [[0, 3], [0]], [[2, 4], [1]])
>>> ENTITIES.describe({"entity_text": ["Paris"], "entity_type": ["LOC"], "entity_start": [0], "entity_end": [5],
...                    "entity_score": [0.5], "num_words": 126, "truncated": True})
"'Paris' LOC 0:5 (0.50) (input truncated: only its first 126 words were tagged)"
"""

import numpy as np
import tensorflow as tf

from keras_bert_zoo.data.features.ner import ner_features, tokenize_words
from keras_bert_zoo.data.options import encoder_inputs
from keras_bert_zoo.export.serving.classifier import classifier_label_names
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
from keras_bert_zoo.metrics.entities import extract_entities
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


def _tags_of(model, names):
    """`from_ids`: per wordpiece `probabilities`, `tag_id` and `tag` of encoder inputs."""
    def from_ids(inputs):
        probabilities = tf.nn.softmax(model(inputs, training=False), axis=-1)
        tag_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"probabilities": probabilities, "tag_id": tag_id, "tag": tf.gather(tf.constant(names), tag_id)}

    return from_ids


def _tflite_outputs(model, options, tokenizer):
    """`from_ids`'s outputs plus `token_ids`, `token` and `padding_mask`, to line the tags up with the text."""
    tags_of = _tags_of(model, classifier_label_names(model.num_classes, options.label_names))
    vocabulary = tf.constant(tokenizer.get_vocabulary())

    def outputs(inputs):
        ids = inputs["token_ids"]
        return {**tags_of(inputs), "token_ids": ids, "token": tf.gather(vocabulary, ids),
                "padding_mask": inputs["padding_mask"]}

    return outputs


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

    from_ids = _tags_of(model, names)

    def serve_text(text):
        text = valid_utf8(limits.check_texts(text=text)[0])
        words, begin, end = split_words(text)
        # Words the tokenizer reads as nothing are dropped; of the rest, at most sequence_length - 2
        # (a piece each at least) can fit, so only those are tokenized again by ner_features.
        words, begin, end = _select(tokenize_words(tokenizer, words.flat_values).row_lengths() > 0, words, begin, end)
        num_words = tf.cast(words.row_lengths(), tf.int32)
        words, begin, end = _select(_position_in_row(words) < sequence_length - 2, words, begin, end)
        features = ner_features(words, preprocessor, sequence_length)
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
        ids_inputs=ids_inputs(preprocessor.output_names),
        default_warmup=[{"text": "John Smith works for Acme Corp. in New York."}, {"text": ""}],
    )


_OUTSIDE, _BEGIN, _INSIDE, _END, _SINGLE = range(5)
_PREFIX_CODES = {"B": _BEGIN, "I": _INSIDE, "E": _END, "S": _SINGLE}


def parse_labels(label_names):
    """`(prefix code per label, type index per label (-1 for O), type names)`; bad tags raise."""
    prefixes, types, type_names = [], [], []
    for name in label_names:
        if name == "O":
            prefixes.append(_OUTSIDE)
            types.append(-1)
            continue
        if name[:1] not in _PREFIX_CODES or name[1:2] not in ("", "-"):
            raise ValueError(f"Label {name!r} is not O, nor B-, I-, E- or S- followed by an entity type.")
        type_name = name[2:] or "_"
        if type_name not in type_names:
            type_names.append(type_name)
        prefixes.append(_PREFIX_CODES[name[0]])
        types.append(type_names.index(type_name))
    return prefixes, types, type_names


def entity_spans(tag_ids, word_scores, label_names):
    """The entities of each row of ragged [batch, (words)] `tag_ids` (indices into `label_names`).

    Returns ragged [batch, (entities)] tensors: `type` (string), `first_word` and `end_word`
    (word indices in the row, end exclusive) and `score`, the mean of `word_scores` (ragged like
    `tag_ids`) over the entity's words.
    """
    prefix_of, type_of, type_names = parse_labels(label_names)
    flat_tags = tf.cast(tag_ids.flat_values, tf.int32)
    prefix, kind = tf.gather(prefix_of, flat_tags), tf.gather(type_of, flat_tags)
    row = ragged_value_rowids(tag_ids)
    word = tf.cast(tf.range(tf.size(flat_tags, out_type=row.dtype)) - tf.gather(tag_ids.row_starts(), row), tf.int32)
    previous_prefix = tf.concat([[_OUTSIDE], prefix[:-1]], axis=0)
    previous_kind = tf.concat([[-1], kind[:-1]], axis=0)
    continues = (
        (word > 0)
        & ((prefix == _INSIDE) | (prefix == _END))
        & ((previous_prefix == _BEGIN) | (previous_prefix == _INSIDE))
        & (kind == previous_kind)
    )
    inside = prefix != _OUTSIDE
    starts = inside & ~continues
    entity_of_word = tf.boolean_mask(tf.cumsum(tf.cast(starts, tf.int32)) - 1, inside)
    num_entities = tf.reduce_sum(tf.cast(starts, tf.int32))
    first = tf.reshape(tf.where(starts), [-1])

    def per_row(values):
        return tf.RaggedTensor.from_value_rowids(values, tf.gather(row, first), nrows=tag_ids.nrows(), validate=False)

    last_word = tf.math.unsorted_segment_max(tf.boolean_mask(word, inside), entity_of_word, num_entities)
    scores = tf.boolean_mask(tf.cast(word_scores.flat_values, tf.float32), inside)
    return {
        "type": per_row(tf.gather(tf.constant(type_names or [""]), tf.gather(kind, first))),
        "first_word": per_row(tf.gather(word, first)),
        "end_word": per_row(last_word + 1),
        "score": per_row(tf.math.unsorted_segment_mean(scores, entity_of_word, num_entities)),
    }


_SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[PAD]")


def wordpiece_entities(example, sequence_length=None):
    """The words, tags and entities of a token classifier that answers per wordpiece (the .tflite export).

    Each word takes the tag of its first wordpiece, and entities are decoded from the word tags as
    `kbz.metrics.extract_entities` does, as the SavedModel export decodes them in its graph. The
    wordpieces carry no character offsets, so the entities have none. A row that fills
    `sequence_length` is marked `truncated`: the text may go on past what was tagged.

    Example:
    >>> wordpiece_entities({"token": ["[CLS]", "paris", "is", "lo", "##vely", "[SEP]", "[PAD]"],
    ...                     "tag": ["O", "B-LOC", "O", "O", "B-MISC", "O", "O"],
    ...                     "probabilities": [[1.0, 0.0]] + [[0.2, 0.8]] * 6, "padding_mask": [1] * 6 + [0]})
    {'words': ['paris', 'is', 'lovely'], 'tags': ['B-LOC', 'O', 'O'], 'num_words': 3, 'truncated': False, \
'entity_text': ['paris'], 'entity_type': ['LOC'], 'entity_score': [0.8]}
    """
    words, tags, scores = [], [], []
    for token, tag, probabilities, kept in zip(example["token"], example["tag"], example["probabilities"],
                                               example["padding_mask"]):
        if not kept or token in _SPECIAL_TOKENS:
            continue
        if token.startswith("##") and words:
            words[-1] += token[2:]
            continue
        words.append(token)
        tags.append(tag)
        scores.append(max(probabilities))
    entities = extract_entities(tags, scheme="IOBES")
    return {
        "words": words, "tags": tags, "num_words": len(words),
        "truncated": sequence_length is not None and sum(example["padding_mask"]) >= sequence_length,
        "entity_text": [" ".join(words[start:end]) for _, start, end in entities],
        "entity_type": [kind for kind, _, _ in entities],
        "entity_score": [round(float(np.mean(scores[start:end])), 6) for _, start, end in entities],
    }


def _describe(example):
    spans = ([f" {start}:{end}" for start, end in zip(example["entity_start"], example["entity_end"])]
             if "entity_start" in example else [""] * len(example["entity_text"]))  # a .tflite's have no offsets
    entities = [f"{text!r} {kind}{span} ({score:.2f})" for text, kind, span, score in zip(
        example["entity_text"], example["entity_type"], spans, example["entity_score"])]
    line = "; ".join(entities) or "no entities"
    if example["truncated"]:
        line += f" (input truncated: only its first {example['num_words']} words were tagged)"
    return line


_WORD_OUTPUTS = ("words", "tags", "word_start", "word_end")
_ENTITY_OUTPUTS = ("entity_text", "entity_type", "entity_start", "entity_end", "entity_score")
ENTITIES = OutputSchema(
    frozenset({*_WORD_OUTPUTS, *_ENTITY_OUTPUTS, "num_words", "num_entities", "truncated"}), _describe,
    counts={"num_words": _WORD_OUTPUTS, "num_entities": _ENTITY_OUTPUTS},
)
WORDPIECE_ENTITIES = OutputSchema(  # what `wordpiece_entities` makes of a .tflite's answer
    frozenset({"words", "tags", "num_words", "truncated", "entity_text", "entity_type", "entity_score"}), _describe,
)
WORDPIECE_TAGS = OutputSchema(  # a .tflite's answer; file_clients.TfliteModel turns it into WORDPIECE_ENTITIES
    frozenset({"probabilities", "tag_id", "tag", "token_ids", "token", "padding_mask"}),
)

SERVING = TaskServing(
    kind="BertTokenClassifier",
    graph=lambda model, preprocessor, options, limits: token_classifier_graph(
        model, preprocessor, options.label_names, limits),
    schemas=(ENTITIES, WORDPIECE_ENTITIES, WORDPIECE_TAGS),
    takes=frozenset({"label_names"}),
    tflite_outputs=_tflite_outputs,
)
