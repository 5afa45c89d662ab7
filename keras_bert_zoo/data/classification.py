"""tf.data pipelines for sequence classification and regression; tokenization runs in the graph."""

import tensorflow as tf

from keras_bert_zoo.data.options import DatasetOptions, build_dataset, encoder_inputs


def label_vocabulary(labels):
    """Sorted distinct labels (numerically when every label is an integer, e.g. GLUE's "0", "1")."""
    distinct = set(labels)
    if all(label.lstrip("-").isdigit() for label in distinct):
        return sorted(distinct, key=int)
    return sorted(distinct)


def classification_dataset(examples, preprocessor, batch_size, *, label_names=None, shuffle=False, seed=0, **options):
    """(model inputs, label) batches from `TextExamples`.

    Labels map to their index in `label_names` (keyword); with `label_names=None` they are float scores
    (regression, num_classes=1). Texts are tokenized and packed by `preprocessor` inside the
    tf.data graph, a batch at a time; with its `padding="longest"` (or `sequence_length=None`)
    each batch is padded only to its own longest example.

    `options`: the other `DatasetOptions` fields (`bucket_by_sequence_length`, `cache`,
    `max_examples`, `input_context`, `drop_remainder`, `prefetch`); see
    `keras_bert_zoo.data.options`.

    Example:
    >>> from keras_bert_zoo.data import read_glue_tsv  # doctest: +SKIP
    >>> ds = classification_dataset(read_glue_tsv(path), preprocessor, 32, label_names=["0", "1"])  # doctest: +SKIP
    >>> ds = classification_dataset(train, preprocessor, 32, label_names=["0", "1"], shuffle=True,
    ...                             bucket_by_sequence_length=True, cache=True)  # doctest: +SKIP
    """
    options = DatasetOptions(batch_size=batch_size, shuffle=shuffle, seed=seed, **options)
    if label_names is None:
        targets = [float(label) for label in examples.labels]
    else:
        index = {name: i for i, name in enumerate(label_names)}
        unknown = sorted(set(examples.labels) - set(index))
        if unknown:
            raise ValueError(f"Labels {unknown} are not in the label set {list(label_names)}.")
        targets = [index[label] for label in examples.labels]
    texts = tuple(tf.constant(column, tf.string) for column in examples.texts)
    features = texts[0] if len(texts) == 1 else texts
    dtype = tf.float32 if label_names is None else tf.int32
    source = tf.data.Dataset.from_tensor_slices((features, tf.constant(targets, dtype, [len(targets)])))

    def encode(batch):
        texts, labels = batch
        return {**preprocessor(texts), "label": labels}

    def to_model(features):
        return encoder_inputs(features), features["label"]

    padding = getattr(preprocessor, "padding", "max_length")
    pad_to = getattr(preprocessor, "sequence_length", None) if padding == "max_length" else None
    pad_id = getattr(getattr(preprocessor, "tokenizer", None), "pad_id", 0)
    return build_dataset(
        source, len(targets), encode, to_model, options, pad_to=pad_to,
        sequence_keys={"token_ids": pad_id, "segment_ids": 0, "padding_mask": 0},
    )
