"""BertPacker: one or two wordpiece segments -> `[CLS] a [SEP] (b [SEP])`, segment ids, mask.

Built from tensorflow-text ops (`RoundRobinTrimmer`, `combine_segments`, `pad_model_inputs`);
keras-hub's `MultiSegmentPacker` is not used because it has neither `longest_first`/`only_second`
nor per-batch padding.

Example:
>>> import tensorflow as tf
>>> from keras_bert_zoo.text.packer import BertPacker
>>> packer = BertPacker(cls_id=101, sep_id=102, pad_id=0, sequence_length=6)
>>> out = packer((tf.ragged.constant([[1, 2, 3]]), tf.ragged.constant([[4, 5, 6]])))
>>> out["token_ids"].numpy().tolist(), out["segment_ids"].numpy().tolist()
([[101, 1, 2, 102, 4, 102]], [[0, 0, 0, 0, 1, 1]])
"""

import keras
import numpy as np
import tensorflow as tf
import tensorflow_text as text

from keras_bert_zoo.text.tokenizer import ragged_value_rowids

TRUNCATE_STRATEGIES = ("round_robin", "longest_first", "only_second")
PADDING_STRATEGIES = ("max_length", "longest")


def _longest_first(len_a, len_b, budget):
    """Hugging Face's (tokenizers') longest_first lengths for a pair, per row.

    Only the longer segment is cut while the shorter fits in half the budget; otherwise both get
    half and the longer one the odd token (ties: the second). Written here: tf-text's
    ShrinkLongestTrimmer breaks ties the other way.
    """
    short = tf.minimum(len_a, len_b)
    long_keep = tf.maximum(short, budget - short)
    both_cut = short + long_keep > budget
    short_keep = tf.where(both_cut, budget // 2, short)
    long_keep = tf.where(both_cut, budget // 2 + budget % 2, long_keep)
    a_is_long = len_a > len_b
    keep_a = tf.where(a_is_long, long_keep, short_keep)
    keep_b = tf.where(a_is_long, short_keep, long_keep)
    return tf.minimum(len_a, keep_a), tf.minimum(len_b, keep_b)


def _only_second(len_a, len_b, budget):
    """Cuts only the second segment (no tf-text trimmer does); errors where it would lose every
    token, as Hugging Face does."""
    excess = len_a + len_b - budget
    check = tf.debugging.Assert(
        tf.reduce_all((excess <= 0) | (excess < len_b)),
        [
            "truncate='only_second': the first segment leaves no room for the second within "
            "sequence_length; first-segment lengths:",
            len_a,
        ],
    )
    with tf.control_dependencies([check]):
        return tf.identity(len_a), tf.minimum(len_b, tf.maximum(budget - len_a, 0))


def as_segments(inputs):
    """A tuple, or a list of tensors/arrays, holds segments; anything else (nested lists) is one."""
    tensors = (tf.Tensor, tf.RaggedTensor, np.ndarray)
    if isinstance(inputs, tuple) or (
        isinstance(inputs, list) and all(isinstance(x, tensors) for x in inputs)
    ):
        return list(inputs)
    return [inputs]


def _as_tensor(segment):
    if isinstance(segment, (tf.Tensor, tf.RaggedTensor)):
        return segment
    if isinstance(segment, list):  # nested lists may be ragged
        return tf.ragged.constant(segment, dtype=tf.int32)
    return tf.convert_to_tensor(segment)


def _keep_first(segment, lengths):
    """The first `lengths[i]` items of each row (flat ops: ragged broadcasting is slow to trace)."""
    splits = segment.row_splits
    rows = ragged_value_rowids(segment)
    position = tf.range(splits[-1], dtype=splits.dtype) - tf.gather(splits, rows)
    lengths = tf.cast(lengths, splits.dtype)
    keep = tf.reshape(tf.where(position < tf.gather(lengths, rows)), [-1])
    new_lengths = tf.minimum(segment.row_lengths(), lengths)
    return tf.RaggedTensor.from_row_lengths(
        tf.gather(segment.flat_values, keep), new_lengths, validate=False
    )


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertPacker(keras.layers.Layer):
    """Packs one or two segments of wordpiece ids into BERT's encoder inputs.

    Input: a ragged [batch, None] int tensor (or nested lists), or a tuple (or list of tensors) of
    two; a single example's rank-1 segments give rank-1 outputs. Output: dict of int32
    `token_ids`, `segment_ids`, `padding_mask`, each [batch, sequence_length].

    Args:
        cls_id, sep_id, pad_id: the special token ids.
        sequence_length: output length including the special tokens, or None to pad each batch to
            its longest sequence (nothing is truncated then).
        truncate: how to fit a pair into `sequence_length`: "round_robin" (one token from each in
            turn), "longest_first" (Hugging Face's: cut the longer one) or "only_second" (cut only
            the second segment; an InvalidArgumentError, as in Hugging Face, where that would
            leave it empty, e.g. when the first alone does not fit).
        padding: "max_length" pads every row to `sequence_length`; "longest" still truncates to
            `sequence_length` but pads each batch only to its longest row (faster on short text).

    Example:
    >>> packer = BertPacker(cls_id=101, sep_id=102, pad_id=0, sequence_length=None)
    >>> packer(tf.ragged.constant([[7], [7, 8]]))["padding_mask"].numpy().tolist()
    [[1, 1, 1, 0], [1, 1, 1, 1]]
    """

    def __init__(
        self, cls_id, sep_id, pad_id, sequence_length=128, truncate="round_robin", padding="max_length",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if truncate not in TRUNCATE_STRATEGIES:
            raise ValueError(f"truncate must be one of {TRUNCATE_STRATEGIES}, got {truncate!r}.")
        if padding not in PADDING_STRATEGIES:
            raise ValueError(f"padding must be one of {PADDING_STRATEGIES}, got {padding!r}.")
        self._convert_input_args = False  # ragged int inputs stay as they are
        self._allow_non_tensor_positional_args = True
        self.built = True
        self.cls_id, self.sep_id, self.pad_id = int(cls_id), int(sep_id), int(pad_id)
        self.sequence_length = sequence_length
        self.truncate = truncate
        self.padding = padding

    def call(self, inputs):
        segments = as_segments(inputs)
        if not 1 <= len(segments) <= 2:
            raise ValueError(f"BertPacker takes one or two segments, got {len(segments)}.")
        segments = [_as_tensor(s) for s in segments]
        unbatched = segments[0].shape.rank == 1
        if unbatched:
            segments = [s[tf.newaxis] for s in segments]
        segments = [
            s if isinstance(s, tf.RaggedTensor) else tf.RaggedTensor.from_tensor(s)
            for s in segments
        ]
        segments = [tf.cast(s, tf.int32) for s in segments]
        if self.sequence_length is not None:
            budget = self.sequence_length - 1 - len(segments)
            if budget < 0:
                raise ValueError(
                    f"sequence_length={self.sequence_length} leaves no room for the "
                    f"{1 + len(segments)} special tokens of {len(segments)} segment(s)."
                )
            segments = self._trim(segments, budget)
        token_ids, segment_ids = text.combine_segments(segments, self.cls_id, self.sep_id)
        if self.sequence_length is None or self.padding == "longest":
            length = tf.cast(token_ids.bounding_shape()[1], tf.int32)
        else:
            length = self.sequence_length
        token_ids, padding_mask = text.pad_model_inputs(token_ids, length, pad_value=self.pad_id)
        segment_ids, _ = text.pad_model_inputs(segment_ids, length, pad_value=0)
        outputs = {
            "token_ids": token_ids,
            "segment_ids": tf.cast(segment_ids, tf.int32),
            "padding_mask": tf.cast(padding_mask, tf.int32),
        }
        return {k: v[0] for k, v in outputs.items()} if unbatched else outputs

    def _trim(self, segments, budget):
        if self.truncate == "round_robin":
            return text.RoundRobinTrimmer(budget).trim(segments)
        lengths = [tf.cast(s.row_lengths(), tf.int32) for s in segments]
        if len(segments) == 1:
            lengths.append(tf.zeros_like(lengths[0]))
        allocate = _longest_first if self.truncate == "longest_first" else _only_second
        keep = allocate(lengths[0], lengths[1], budget)
        return [_keep_first(s, n) for s, n in zip(segments, keep)]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "cls_id": self.cls_id,
                "sep_id": self.sep_id,
                "pad_id": self.pad_id,
                "sequence_length": self.sequence_length,
                "truncate": self.truncate,
                "padding": self.padding,
            }
        )
        return config
