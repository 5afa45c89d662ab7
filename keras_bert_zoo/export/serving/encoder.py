"""Serving a bare backbone (`BertEncoder` or another family's): text (or a text pair) in, sentence embeddings out.

Outputs of both signatures, float32: `pooled_output` [batch, hidden] (the tanh dense on [CLS]; families with
a pooler only, not DistilBERT) and `mean_embedding` [batch, hidden], the mean of `sequence_output` over the
non-padding tokens ([CLS] and [SEP] included, as sentence-transformers' mean pooling does).

Example:
>>> graph = encoder_graph(encoder, preprocessor)  # doctest: +SKIP
>>> EMBEDDING.describe({"pooled_output": [0.5, -0.25], "mean_embedding": [0.125, 1.0, 2.0, 3.0]})
'mean_embedding [4 floats: 0.1250, 1.0000, 2.0000, ...]; pooled_output [2 floats: 0.5000, -0.2500]'
"""

import tensorflow as tf

from keras_bert_zoo.export.serving.graph import OutputSchema, ServingLimits, TaskServing, text_graph


def encoder_outputs(encoder, inputs):
    """`pooled_output` and `mean_embedding` of `encoder` on `inputs`, in float32.

    The TFLite export uses it too: `tf.expand_dims` converts with both axes dynamic, where
    `mask[:, :, None]` has no TFLite kernel."""
    outputs = encoder(inputs, training=False)
    sequence = tf.cast(outputs["sequence_output"], tf.float32)
    mask = tf.expand_dims(tf.cast(inputs["padding_mask"], tf.float32), -1)
    count = tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)
    embeddings = {"mean_embedding": tf.reduce_sum(sequence * mask, axis=1) / count}
    if "pooled_output" in outputs:
        embeddings["pooled_output"] = tf.cast(outputs["pooled_output"], tf.float32)
    return embeddings


def encoder_graph(encoder, preprocessor, pair=False, limits=ServingLimits()):
    """`serving_default` takes `text`, or `text_a` and `text_b` with `pair`; text longer than the
    preprocessor's `sequence_length` is truncated."""

    def from_ids(inputs):
        return encoder_outputs(encoder, inputs)

    return text_graph(preprocessor, from_ids, pair, limits)


def _vector(name, values):
    head = ", ".join(f"{value:.4f}" for value in values[:3])
    return f"{name} [{len(values)} floats: {head}{', ...' if len(values) > 3 else ''}]"


def _vectors(example):
    return "; ".join(_vector(name, example[name]) for name in sorted(example))


EMBEDDING = OutputSchema(frozenset({"pooled_output", "mean_embedding"}), _vectors)
MEAN_EMBEDDING = OutputSchema(frozenset({"mean_embedding"}), _vectors)  # a backbone without a pooler

SERVING = TaskServing(
    kind="BertEncoder",
    graph=lambda model, preprocessor, options, limits: encoder_graph(model, preprocessor, options.pair, limits),
    schemas=(EMBEDDING, MEAN_EMBEDDING),
    takes=frozenset({"pair"}),
    tflite_outputs=lambda model, options, tokenizer=None: lambda inputs: encoder_outputs(model, inputs),
)
