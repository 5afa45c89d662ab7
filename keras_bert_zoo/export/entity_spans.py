"""Entity spans of BIO (IOB2), IOB1 or IOBES word tags, decoded in the graph.

The same lenient decoding as `kbz.metrics.extract_entities` (seqeval's default): a word continues
the open entity only if its tag is `I-` or `E-` of the type of the word before, and that word's tag
is `B-` or `I-`; any other tag but `O` starts an entity. A tag without a type (`B`) has type `_`.

Example:
>>> import tensorflow as tf
>>> labels = ["O", "B-PER", "I-PER", "B-LOC"]
>>> tag_ids = tf.ragged.constant([[1, 2, 0, 3], [2]])
>>> spans = entity_spans(tag_ids, tf.ones_like(tag_ids, tf.float32), labels)
>>> spans["type"].to_list(), spans["first_word"].to_list(), spans["end_word"].to_list()
([[b'PER', b'LOC'], [b'PER']], [[0, 3], [0]], [[2, 4], [1]])
"""

import tensorflow as tf

from keras_bert_zoo.text.tokenizer import ragged_value_rowids

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
