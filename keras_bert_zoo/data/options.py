"""The contract every `keras_bert_zoo.data` pipeline keeps, and the options it takes (`build_dataset`).

Every pipeline is `<task>_dataset(examples, preprocessor, batch_size, *, task options, **dataset options)`:
`examples` as a reader gives them (`keras_bert_zoo.data.readers`), the `BertPreprocessor` the model
uses (its tokenizer and `sequence_length`; classification and multiple choice also its packing),
keyword-only task options (`label_names`, `doc_stride`, masking, ...) and the dataset options below.

Each yields fit-ready batches, as `keras.utils.unpack_x_y_sample_weight` reads them: `(x, y)`
where every target counts (classification, multiple choice, SQuAD), `(x, y, sample_weight)`
where some targets are ignored (NER: `IGNORE_LABEL` tokens; pretraining: unused masked-LM slots),
and `x` alone for examples without labels. `x` is a dict of the encoder's inputs
(`keras_bert_zoo.names.ENCODER_INPUTS`, plus `mask_positions` for pretraining). Every tensor has
a static rank, and `cardinality()` is known: computed from the number of examples, or from one
counting pass when the number of batches depends on tokenized lengths (SQuAD windows, length
buckets). Only a sharded (`input_context`) and shuffled pipeline with windows or buckets and no
`cache` leaves it unknown: its shard's examples, so their windows and buckets, change every epoch.

The dataset options (the fields of `DatasetOptions`):

* `batch_size`; with `input_context` it is the *global* batch and each replica gets
  `input_context.get_per_replica_batch_size(batch_size)` examples a step.
* `shuffle`, `seed`: examples are shuffled with the whole data set as buffer, again every epoch;
  the same seed gives the same order on every worker and every run. (SQuAD's windows are then
  also mixed in a buffer of 8 batches.)
* `bucket_by_sequence_length`: True (bounds 8, 16, 24, 32, 48, 64, 96, ..., 512) or a list of bounds; the
  pipeline's fixed sequence length, if it has one, is always the last bound. Examples are grouped
  by their unpadded length (with [CLS]/[SEP]) into buckets `(previous bound, bound]`, and each
  batch holds one bucket's examples padded to its bound (without a fixed sequence length, lengths
  over the last bound go in one more bucket, padded to its batch's longest row). Batches then
  waste less on padding, and their shapes come from a short list (few retraces).
* `cache`: True keeps the tokenized examples in memory after the first epoch; a string caches them
  in files with that prefix (one set per input pipeline). Shuffling and batching happen after the
  cache, so epochs still differ with `shuffle=True` and are identical without.
* `prefetch`: `prefetch(AUTOTUNE)` at the end (default True).
* `max_examples`: only the first N examples (`take(N)`, before shuffling), for quick runs. SQuAD
  counts questions, pretraining counts sequence pairs.
* `input_context`: a `tf.distribute.InputContext`, as `strategy.distribute_datasets_from_function`
  passes it: the examples are sharded by index (`shard(num_input_pipelines, input_pipeline_id)`)
  before tokenization, after shuffling (with `cache`: before caching, so each worker caches and
  shuffles only its own part), and batches are per replica. Without it the data set's auto-shard
  policy is set to DATA (the data are in memory, there are no files to split); with it, to OFF.
* `drop_remainder`: drop the last partial batch (of each bucket, with bucketing).

Example:
>>> import tensorflow as tf
>>> from keras_bert_zoo.data import classification_dataset, TextExamples
>>> import keras_bert_zoo as kbz
>>> preprocessor = kbz.load_preprocessor("bert_tiny_uncased", sequence_length=64)
>>> examples = TextExamples([["a b", "c", "a b c d e f"]], ["0", "1", "0"])
>>> ds = classification_dataset(examples, preprocessor, 2, label_names=["0", "1"], bucket_by_sequence_length=[4, 8])
>>> sorted(inputs["token_ids"].shape[1] for inputs, _ in ds), int(ds.cardinality())
([4, 8], 2)
>>> strategy = tf.distribute.get_strategy()
>>> ds = strategy.distribute_datasets_from_function(
...     lambda context: classification_dataset(examples, preprocessor, 2, label_names=["0", "1"],
...                                            input_context=context))
"""

import dataclasses

import numpy as np
import tensorflow as tf

from keras_bert_zoo.names import ENCODER_INPUTS

AUTOTUNE = tf.data.AUTOTUNE
# Steps of 8 for short texts, then 50% apart: padding adds at most a third to a batch, in 12 shapes.
DEFAULT_BOUNDS = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
ENCODE_CHUNK = 256  # examples tokenized together before they are split up for caching or bucketing


@dataclasses.dataclass(frozen=True)
class DatasetOptions:
    """Batching, shuffling, bucketing, caching, sharding and limits of a data pipeline.

    See the module docstring for what each field does.
    """

    batch_size: int = 32
    shuffle: bool = False
    seed: int = 0
    bucket_by_sequence_length: bool | tuple | list = False
    cache: bool | str = False
    prefetch: bool = True
    max_examples: int | None = None
    input_context: tf.distribute.InputContext | None = None
    drop_remainder: bool = False

    def __post_init__(self):
        if int(self.batch_size) < 1:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}.")
        if self.max_examples is not None and int(self.max_examples) < 0:
            raise ValueError(f"max_examples must be >= 0, got {self.max_examples}.")
        bounds = self.bucket_by_sequence_length
        if bounds is not None and not isinstance(bounds, bool):
            bounds = list(bounds)
            if not bounds or any(int(b) < 1 for b in bounds):
                raise ValueError(f"bucket_by_sequence_length needs positive bounds, got {bounds}.")

    def bucket_bounds(self, max_length):
        """The bucket bounds (sorted), or None without bucketing.

        With a `max_length` (the pipeline's fixed sequence length) it is the last bound: no
        bucket is padded past it.
        """
        if self.bucket_by_sequence_length in (False, None):
            return None
        if self.bucket_by_sequence_length is True:
            bounds = DEFAULT_BOUNDS
        else:
            bounds = sorted({int(b) for b in self.bucket_by_sequence_length})
        if max_length is None:
            return list(bounds)
        return [b for b in bounds if b < max_length] + [int(max_length)]

    @property
    def per_replica_batch_size(self):
        if self.input_context is None:
            return int(self.batch_size)
        return int(self.input_context.get_per_replica_batch_size(self.batch_size))


def encoder_inputs(features):
    """The encoder's inputs (`ENCODER_INPUTS`, those present: some families take no `segment_ids`) of a dict
    of features."""
    return {name: features[name] for name in ENCODER_INPUTS if name in features}


def _batches(rows, batch_size, drop_remainder):
    return rows // batch_size if drop_remainder else -(-rows // batch_size)


def _count_batches(ds, encode, bounds, batch_size, drop_remainder, mapped):
    """Batches of a pipeline whose count depends on tokenized lengths (rows of `encode`, length buckets):
    one pass that tokenizes the examples of `ds` (the input pipeline's, in any order) and keeps their lengths."""
    lengths = mapped(_batch(ds, ENCODE_CHUNK), lambda raw: tf.reduce_sum(
        tf.cast(encode(raw)["padding_mask"], tf.int32), axis=1))
    lengths = np.concatenate([np.zeros([0], np.int32), *lengths.as_numpy_iterator()])
    if bounds is None:
        return _batches(len(lengths), batch_size, drop_remainder)
    buckets = np.bincount(np.searchsorted(np.asarray(bounds), lengths, side="left"))  # as _bucket groups them
    return int(sum(_batches(int(rows), batch_size, drop_remainder) for rows in buckets))


def _with_ranks(element, ranks):
    """`element` with each tensor's rank stated (where the graph lost it, e.g. after group_by_window)."""
    return {key: value if value.shape.rank is not None or key not in ranks else tf.ensure_shape(
        value, [None] * ranks[key]) for key, value in element.items()}


def _batch(ds, batch_size, drop_remainder=False):
    """`batch`, or `ragged_batch` where an element's shape varies (e.g. a sentence's words)."""
    specs = tf.nest.flatten(ds.element_spec)
    if all(isinstance(s, tf.TensorSpec) and s.shape.is_fully_defined() for s in specs):
        return ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.ragged_batch(batch_size, drop_remainder=drop_remainder)


def _unpad(features, sequence_keys):
    """Sequence features [batch, length, ...] -> ragged [batch, (own length), ...] (by padding_mask)."""
    lengths = tf.reduce_sum(tf.cast(features["padding_mask"], tf.int32), axis=1)
    return {
        key: tf.RaggedTensor.from_tensor(value, lengths=lengths) if key in sequence_keys else value
        for key, value in features.items()
    }


def _pad(features, sequence_keys, width):
    """Ragged sequence features [batch, (length), ...] -> dense, padded to `width`."""
    padded = dict(features)
    for key, pad in sequence_keys.items():
        if key not in features:  # e.g. segment_ids of a family without token types
            continue
        value = features[key]
        if isinstance(value, tf.RaggedTensor):
            shape = tf.tensor_scatter_nd_update(
                value.bounding_shape(out_type=tf.int64), [[1]], tf.cast(width, tf.int64)[None]
            )
            value = value.to_tensor(tf.constant(pad, value.dtype), shape=shape)
            value.set_shape([None, None] + features[key].shape.as_list()[2:])
        padded[key] = value
    return padded


def _bucket_width(features, bounds):
    """The bound of the bucket a batch came from: the first bound its longest row fits in."""
    longest = tf.cast(features["token_ids"].bounding_shape()[1], tf.int32)
    bounds = tf.constant(list(bounds), tf.int32)
    bucket = tf.searchsorted(bounds, longest[None], side="left")[0]
    bound = tf.gather(bounds, tf.minimum(bucket, tf.size(bounds) - 1))
    return tf.where(bucket < tf.size(bounds), bound, longest)  # past the last bound: the longest


def _bucket(ds, bounds, batch_size, drop_remainder):
    """Batches (ragged) of the examples of one bucket each: lengths in (previous bound, bound]."""
    bounds = tf.constant(bounds, tf.int64)

    @tf.autograph.experimental.do_not_convert
    def bucket_of(features):
        length = tf.shape(features["token_ids"], out_type=tf.int64)[0]
        return tf.searchsorted(bounds, length[None], side="left", out_type=tf.int64)[0]

    @tf.autograph.experimental.do_not_convert
    def batch_bucket(bucket, examples):
        return examples.ragged_batch(batch_size, drop_remainder=drop_remainder)

    return ds.group_by_window(bucket_of, batch_bucket, window_size=batch_size)


def build_dataset(
    source, num_examples, encode, to_model, options, *, sequence_keys, pad_to,
    expands=False, batch_index=False,
):
    """The one place the options are applied; every pipeline in `keras_bert_zoo.data` calls it.

    Args:
        source: unbatched raw examples (strings, ids, ...), in their order.
        num_examples: how many `source` holds (the shuffle buffer).
        encode: a batch of raw examples -> dict of features, each [rows, ...]; the sequence
            features [rows, length, ...] padded to `pad_to` (or any length), with a
            `padding_mask` that tells each row's length. Its rows are the examples unless
            `expands` (e.g. SQuAD windows).
        to_model: a batch of features (padded) -> what the data set yields; with `batch_index` it
            also gets an int64 batch number, distinct across input pipelines.
        options: `DatasetOptions`.
        sequence_keys: {feature name: padding value} of the features with a token axis.
        pad_to: length of every batch without bucketing, or None for each batch's longest.
        expands: `encode` gives a different number of rows than it gets: rows are split up and
            batched again (and, with `shuffle`, mixed in a buffer of 8 batches).
        batch_index: pass the batch number to `to_model` (e.g. to seed random masking).
    """
    context = options.input_context
    num_pipelines, pipeline_id = (1, 0) if context is None else (
        context.num_input_pipelines, context.input_pipeline_id)
    batch_size = options.per_replica_batch_size
    bounds = options.bucket_bounds(pad_to)
    if options.max_examples is not None:
        source = source.take(options.max_examples)
        num_examples = min(num_examples, int(options.max_examples))
    ds = source
    buffer = max(num_examples, 1)

    def shard(ds):
        return ds.shard(num_pipelines, pipeline_id) if num_pipelines > 1 else ds

    def shuffled(ds, size):
        return ds.shuffle(size, seed=options.seed, reshuffle_each_iteration=True) if options.shuffle else ds

    def mapped(ds, fn, indexed=False):  # fn gets the element whole (map would unpack a tuple)
        if indexed:
            def call(index, element):
                return fn(element, index * num_pipelines + pipeline_id)
        else:
            def call(*element):
                return fn(element[0] if len(element) == 1 else element)
        return ds.map(tf.autograph.experimental.do_not_convert(call), num_parallel_calls=AUTOTUNE)

    if not (expands or options.cache or bounds):  # tokenize whole batches: the fastest way
        ds = _batch(shard(shuffled(ds, buffer)), batch_size, options.drop_remainder)
        if batch_index:
            ds = mapped(ds.enumerate(), lambda raw, index: to_model(encode(raw), index), indexed=True)
        else:
            ds = mapped(ds, lambda raw: to_model(encode(raw)))
    else:  # tokenize in chunks, then cache / shuffle / bucket single examples
        # With `cache`, each input pipeline caches its own shard and shuffles it after the cache.
        ds = shard(ds) if options.cache else shard(shuffled(ds, buffer))
        trim = bounds is not None or pad_to is None
        ds = mapped(
            _batch(ds, ENCODE_CHUNK), lambda raw: _unpad(encode(raw), sequence_keys) if trim else encode(raw)
        ).unbatch()
        ranks = {key: spec.shape.rank + 1 for key, spec in ds.element_spec.items()}  # batched, as encode gave
        if options.cache:
            cache = options.cache
            filename = "" if cache is True else f"{cache}_{pipeline_id}-of-{num_pipelines}"
            ds = shuffled(ds.cache(filename), buffer)
        elif expands:
            ds = shuffled(ds, 8 * batch_size)  # mix the rows of neighbouring examples
        if bounds:
            ds = _bucket(ds, bounds, batch_size, options.drop_remainder)

            def padded(features):
                return _pad(features, sequence_keys, _bucket_width(features, bounds))
        elif trim:  # pad_to is None: each batch to its longest
            ds = ds.ragged_batch(batch_size, drop_remainder=options.drop_remainder)

            def padded(features):
                return _pad(features, sequence_keys, features["token_ids"].bounding_shape()[1])
        else:
            ds = ds.batch(batch_size, drop_remainder=options.drop_remainder)

            def padded(features):
                return features

        # unbatch lost the number of batches, which Keras likes to know (else it warns at the end of each pass)
        if not (expands or bounds):
            examples = len(range(pipeline_id, num_examples, num_pipelines))
            ds = ds.apply(tf.data.experimental.assert_cardinality(
                _batches(examples, batch_size, options.drop_remainder)))
        elif options.cache or not options.shuffle or num_pipelines == 1:  # this shard's examples are fixed
            ds = ds.apply(tf.data.experimental.assert_cardinality(_count_batches(
                shard(source), encode, bounds, batch_size, options.drop_remainder, mapped)))

        if batch_index:
            ds = mapped(ds.enumerate(), lambda features, index: to_model(_with_ranks(padded(features), ranks), index),
                        True)
        else:
            ds = mapped(ds, lambda features: to_model(_with_ranks(padded(features), ranks)))
    if options.prefetch:
        ds = ds.prefetch(AUTOTUNE)
    tf_options = tf.data.Options()
    tf_options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA if context is None
        else tf.data.experimental.AutoShardPolicy.OFF
    )
    return ds.with_options(tf_options)
