"""tf.data pipelines for sequence classification and regression; tokenization runs in the graph."""

import tensorflow as tf


def label_vocabulary(labels):
    """Sorted distinct labels (numerically when every label is an integer, e.g. GLUE's "0", "1")."""
    distinct = set(labels)
    if all(label.lstrip("-").isdigit() for label in distinct):
        return sorted(distinct, key=int)
    return sorted(distinct)


def classification_dataset(examples, preprocessor, batch_size, label_names=None, shuffle=False, seed=0):
    """(model inputs, label) batches from `TextExamples`.

    Labels map to their index in `label_names`; with `label_names=None` they are float scores
    (regression, num_classes=1). Batches are tokenized and packed by `preprocessor` inside the
    tf.data graph, after batching, so each batch is padded only to its own longest example when
    the preprocessor's `sequence_length` is None.

    Example:
    >>> from keras_bert_zoo.data import read_glue_tsv  # doctest: +SKIP
    >>> ds = classification_dataset(read_glue_tsv(path), preprocessor, 32, ["0", "1"])  # doctest: +SKIP
    """
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
    ds = tf.data.Dataset.from_tensor_slices((features, targets))
    if shuffle:
        ds = ds.shuffle(len(targets), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(lambda x, y: (preprocessor(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
