"""Sequence-to-sequence data (translation, abstractive summarization): (source text, target text) pairs -> the
inputs of `BertEncoderDecoder`, next-token labels and their weights, tokenized in the tf.data graph.

The encoder reads the source as the model's `BertPreprocessor` packs it ("[CLS] source [SEP]", cut at its
`sequence_length`). The decoder reads "[CLS] target" and learns to predict "target [SEP]": with
s = [CLS] t1 ... tn [SEP] (cut to `target_length` tokens, [SEP] kept), `decoder_token_ids` are s[:-1], the
labels s[1:], and the sample weight is 1 on each label that is a target token or [SEP], 0 on padding.
`BertEncoderDecoder.generate` starts from [CLS] and stops at [SEP] as this teaches it.

Batches keep the `keras_bert_zoo.data.options` contract (bucketing, caching, sharding, limits): a pair's length
is the longer of its encoder and decoder sequences; each side of a batch is then cut to the bound (or, without
buckets, the longest row) of its own longest row, so a short summary is not padded to its article's length.

Example:
>>> from keras_bert_zoo.text import BertPreprocessor, BertTokenizer
>>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c"])
>>> pairs = ParallelTexts(["a b c"], ["c b"])
>>> x, labels, weights = next(iter(seq2seq_dataset(pairs, BertPreprocessor(tokenizer, 8), 1, target_length=5)))
>>> x["encoder_token_ids"].numpy().tolist(), x["decoder_token_ids"].numpy().tolist()
([[2, 5, 6, 7, 3, 0, 0, 0]], [[2, 7, 6, 0]])
>>> labels.numpy().tolist(), weights.numpy().tolist()
([[7, 6, 3, 0]], [[1.0, 1.0, 1.0, 0.0]])
"""

import dataclasses
import gzip
from pathlib import Path

import tensorflow as tf

from keras_bert_zoo.data.options import DatasetOptions, build_dataset
from keras_bert_zoo.models.encoder_decoder.model import (
    DECODER_PADDING_MASK,
    DECODER_TOKEN_IDS,
    ENCODER_PADDING_MASK,
    ENCODER_TOKEN_IDS,
)
from keras_bert_zoo.names import PADDING_MASK, TOKEN_IDS
from keras_bert_zoo.text.wordpiece_text import decode_wordpiece

LABELS = "labels"
_DECODER_KEYS = (DECODER_TOKEN_IDS, DECODER_PADDING_MASK, LABELS)


@dataclasses.dataclass
class ParallelTexts:
    """Source texts and their targets (translations, summaries), one pair per index."""

    sources: list
    targets: list

    def __post_init__(self):
        if len(self.sources) != len(self.targets):
            raise ValueError(f"{len(self.sources)} source texts but {len(self.targets)} targets.")

    def __len__(self):
        return len(self.sources)

    def head(self, count):
        """The first `count` pairs (all with None)."""
        return ParallelTexts(self.sources[:count], self.targets[:count])


def _read_lines(path):
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as file:
            lines = file.read().split("\n")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start}).") from None
    if lines and lines[-1] == "":
        lines.pop()  # the final newline
    for number, line in enumerate(lines, 1):
        if not line.strip():
            raise ValueError(f"{path}:{number}: empty line; a parallel text file has one non-empty text a line.")
    if not lines:
        raise ValueError(f"{path}: no lines.")
    return [line.rstrip("\r") for line in lines]


def read_parallel_text(source_path, target_path):
    """`ParallelTexts` from two line-aligned UTF-8 files (plain or .gz), as Multi30k and WMT ship them: line i of
    one is the translation of line i of the other. Different line counts or an empty line are errors naming
    the file."""
    sources, targets = _read_lines(source_path), _read_lines(target_path)
    if len(sources) != len(targets):
        raise ValueError(f"{source_path} has {len(sources):,} lines but {target_path} has {len(targets):,}: "
                         "the files are not line-aligned.")
    return ParallelTexts(sources, targets)


def _pad_to(values, width, pad):
    """[rows, w] dense -> [rows, width] padded with `pad` on the right (w <= width)."""
    return tf.pad(values, [[0, 0], [0, width - tf.shape(values)[1]]], constant_values=pad)


def _cut_width(mask, bounds):
    """The width a side of a batch is cut to: the first bound that holds its longest row (the longest itself
    past the last bound or without bounds)."""
    longest = tf.reduce_max(tf.reduce_sum(tf.cast(mask, tf.int32), axis=1))
    if not bounds:
        return longest
    bounds = tf.constant(bounds, tf.int32)
    bucket = tf.searchsorted(bounds, longest[None], side="left")[0]
    return tf.where(bucket < tf.size(bounds), tf.gather(bounds, tf.minimum(bucket, tf.size(bounds) - 1)), longest)


def seq2seq_dataset(examples, preprocessor, batch_size, *, target_tokenizer=None, target_length=128,
                    shuffle=False, seed=0, **options):
    """`(x, labels, sample_weight)` batches from `ParallelTexts` for `BertEncoderDecoder`.

    `x`: int32 `encoder_token_ids`, `encoder_padding_mask`, `decoder_token_ids`, `decoder_padding_mask`;
    `labels`: the next token at each decoder position (int32); `sample_weight`: float32, 1 on real tokens.

    Args:
        examples: `ParallelTexts`.
        preprocessor: the model's `BertPreprocessor` for the sources (its `sequence_length` cuts them; with
            `padding="max_length"` every batch is that long, the decoder side `target_length - 1`).
        batch_size: examples a batch (global with `input_context`).
        target_tokenizer: the `BertTokenizer` of the targets (default: the preprocessor's; a translation
            model with one vocabulary per language has its own); [CLS] and [SEP] are its.
        target_length: the most tokens of "[CLS] target [SEP]"; a longer target is cut and keeps [SEP].
        options: the other `DatasetOptions` fields (`bucket_by_sequence_length`, `cache`, `max_examples`,
            `input_context`, `drop_remainder`, `prefetch`); see `keras_bert_zoo.data.options`.
    """
    if target_length < 2:
        raise ValueError(f"target_length={target_length}: it counts [CLS] and [SEP], so it must be at least 2.")
    options = DatasetOptions(batch_size=batch_size, shuffle=shuffle, seed=seed, **options)
    target_tokenizer = target_tokenizer or preprocessor.tokenizer
    source_pad, target_pad = preprocessor.tokenizer.pad_id, target_tokenizer.pad_id
    source = tf.data.Dataset.from_tensor_slices((tf.constant(examples.sources, tf.string),
                                                 tf.constant(examples.targets, tf.string)))
    fixed = getattr(preprocessor, "padding", "max_length") == "max_length" and preprocessor.sequence_length
    pad_to = max(preprocessor.sequence_length, target_length - 1) if fixed else None

    def encode(batch):
        sources, targets = batch
        encoded = preprocessor(sources)
        pieces = target_tokenizer(targets)[:, :target_length - 2]
        rows = tf.shape(targets)[:1]
        edge = tf.RaggedTensor.from_tensor(tf.ones(tf.concat([rows, [1]], 0), tf.int32))
        full = tf.concat([edge * target_tokenizer.cls_id, pieces, edge * target_tokenizer.sep_id], axis=1)
        decoder, labels = full[:, :-1], full[:, 1:]
        width = pad_to or tf.maximum(tf.shape(encoded[TOKEN_IDS])[1], tf.cast(decoder.bounding_shape()[1], tf.int32))
        decoder_mask = _pad_to(tf.ones_like(decoder).to_tensor(0), width, 0)
        encoder_mask = _pad_to(encoded[PADDING_MASK], width, 0)
        return {
            TOKEN_IDS: _pad_to(encoded[TOKEN_IDS], width, source_pad),
            ENCODER_PADDING_MASK: encoder_mask,
            DECODER_TOKEN_IDS: _pad_to(decoder.to_tensor(target_pad), width, target_pad),
            DECODER_PADDING_MASK: decoder_mask,
            LABELS: _pad_to(labels.to_tensor(target_pad), width, target_pad),
            PADDING_MASK: tf.maximum(encoder_mask, decoder_mask),  # the pair's length, as buckets count it
        }

    bounds = options.bucket_bounds(pad_to)

    def to_model(features):
        if fixed and not bounds:
            encoder_width, decoder_width = preprocessor.sequence_length, target_length - 1
        else:
            encoder_width = _cut_width(features[ENCODER_PADDING_MASK], bounds)
            decoder_width = _cut_width(features[DECODER_PADDING_MASK], bounds)
        x = {ENCODER_TOKEN_IDS: features[TOKEN_IDS][:, :encoder_width],
             ENCODER_PADDING_MASK: features[ENCODER_PADDING_MASK][:, :encoder_width],
             **{key: features[key][:, :decoder_width] for key in _DECODER_KEYS}}
        labels = x.pop(LABELS)
        return x, labels, tf.cast(x[DECODER_PADDING_MASK], tf.float32)

    return build_dataset(
        source, len(examples), encode, to_model, options, pad_to=pad_to,
        sequence_keys={TOKEN_IDS: source_pad, ENCODER_PADDING_MASK: 0, DECODER_TOKEN_IDS: target_pad,
                       DECODER_PADDING_MASK: 0, LABELS: target_pad, PADDING_MASK: 0},
    )


def decode_ids(tokenizer, ids):
    """The text of generated token ids `ids` (one row): the tokens up to the first [SEP], decoded as transformers
    decodes them, punctuation spaced as written text spaces it (`text.wordpiece_text`; the exported generator's
    `written_spacing` gives the same text).

    >>> from keras_bert_zoo.text import BertTokenizer
    >>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "T", "-", "Sh", "##irt", "."])
    >>> decode_ids(tokenizer, [2, 5, 6, 7, 8, 9, 3, 5])
    'T-Shirt.'
    """
    ids = [int(i) for i in ids]
    end = ids.index(tokenizer.sep_id) if tokenizer.sep_id in ids else len(ids)
    return decode_wordpiece(tokenizer, ids[:end], written_spacing=True)
