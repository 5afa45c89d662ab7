"""Serving a `BertClassifier`: text (or a text pair) in, the class and its name out.

Outputs of both signatures and of the .tflite: `probabilities` [batch, classes] float32, `label_id`
[batch] int32 and `label` [batch] string (from `label_names`); a regressor (`num_classes=1`) returns
`score` [batch].

Example:
>>> graph = classifier_graph(classifier, preprocessor, ["negative", "positive"])  # doctest: +SKIP
>>> CLASSIFICATION.describe({"label": "positive", "label_id": 1, "probabilities": [0.25, 0.75]})
'positive (0.750)'
"""

import tensorflow as tf

from keras_bert_zoo.export.serving.graph import OutputSchema, ServingLimits, TaskServing, text_graph


def classifier_label_names(num_classes, label_names):
    """`label_names` as strings, checked against `num_classes` ("0", "1", ... when None)."""
    names = [str(name) for name in (range(num_classes) if label_names is None else label_names)]
    if len(names) != num_classes:
        raise ValueError(f"{len(names)} label names for {num_classes} classes.")
    return names


def classifier_outputs(logits, label_names):
    """Decoded outputs of classifier logits [batch, classes] (`score` for one class: regression)."""
    if logits.shape[-1] == 1:
        return {"score": logits[:, 0]}
    probabilities = tf.nn.softmax(logits, axis=-1)
    label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
    return {
        "probabilities": probabilities,
        "label_id": label_id,
        "label": tf.gather(tf.constant(label_names), label_id),
    }


def classifier_graph(model, preprocessor, label_names=None, pair=False, limits=ServingLimits()):
    """`serving_default` takes `text`, or `text_a` and `text_b` with `pair`; text longer than the
    preprocessor's `sequence_length` is truncated as in training."""
    names = classifier_label_names(model.num_classes, label_names) if model.num_classes > 1 else None

    def from_ids(inputs):
        return classifier_outputs(model(inputs, training=False), names)

    return text_graph(preprocessor, from_ids, pair, limits)


def _outputs(model, options, tokenizer=None):
    """The outputs of encoder inputs, as the .tflite gives them (those of `from_ids`)."""
    names = classifier_label_names(model.num_classes, options.label_names) if model.num_classes > 1 else None
    return lambda inputs: classifier_outputs(model(inputs, training=False), names)


CLASSIFICATION = OutputSchema(
    frozenset({"probabilities", "label_id", "label"}),
    lambda example: f"{example['label']} ({example['probabilities'][example['label_id']]:.3f})",
)
REGRESSION = OutputSchema(frozenset({"score"}), lambda example: f"score {example['score']:.4f}")

SERVING = TaskServing(
    kind="BertClassifier",
    graph=lambda model, preprocessor, options, limits: classifier_graph(
        model, preprocessor, options.label_names, options.pair, limits),
    schemas=(CLASSIFICATION, REGRESSION),
    takes=frozenset({"label_names", "pair"}),
    tflite_outputs=_outputs,
)
