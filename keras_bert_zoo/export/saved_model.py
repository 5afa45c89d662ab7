"""SavedModel export for TF Serving: raw strings in, decoded task outputs out."""

import keras
import tensorflow as tf

from keras_bert_zoo.export.versions import write_version
from keras_bert_zoo.models import BertClassifier


def _classifier_outputs(logits, label_names):
    if logits.shape[-1] == 1:  # regression
        return {"score": logits[:, 0]}
    probabilities = tf.nn.softmax(logits, axis=-1)
    label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
    return {
        "probabilities": probabilities,
        "label_id": label_id,
        "label": tf.gather(tf.constant(label_names), label_id),
    }


def saved_model(task_model, preprocessor, base_path, label_names=None, pair=False):
    """Writes `<base_path>/<next version>/`, a SavedModel TF Serving loads, and returns its path.

    Signatures: `serving_default` takes raw strings (`text`, or `text_a` and `text_b` for pairs) and
    runs `preprocessor` in the graph; `from_ids` takes the encoder's int inputs. A classifier returns
    `probabilities`, `label_id` and `label` (from `label_names`); a regressor returns `score`.
    Text longer than the preprocessor's `sequence_length` is truncated, as in training.

    Example:
    >>> path = saved_model(classifier, preprocessor, "saved_models/sst2", ["negative", "positive"])  # doctest: +SKIP
    """
    if not isinstance(task_model, BertClassifier):
        raise NotImplementedError(f"SavedModel export of {type(task_model).__name__} is not written yet.")
    if task_model.num_classes > 1:
        label_names = [str(name) for name in (label_names or range(task_model.num_classes))]
        if len(label_names) != task_model.num_classes:
            raise ValueError(f"{len(label_names)} label names for {task_model.num_classes} classes.")

    def from_ids(inputs):
        return _classifier_outputs(task_model(inputs, training=False), label_names)

    ids_spec = {name: tf.TensorSpec([None, None], tf.int32, name=name)
                for name in ("token_ids", "segment_ids", "padding_mask")}
    if pair:
        text_spec = [tf.TensorSpec([None], tf.string, name="text_a"), tf.TensorSpec([None], tf.string, name="text_b")]
        serve_text = lambda text_a, text_b: from_ids(preprocessor((text_a, text_b)))  # noqa: E731
    else:
        text_spec = [tf.TensorSpec([None], tf.string, name="text")]
        serve_text = lambda text: from_ids(preprocessor(text))  # noqa: E731

    archive = keras.export.ExportArchive()
    archive.track(task_model)
    archive.track(preprocessor)
    archive.add_endpoint("serving_default", serve_text, input_signature=text_spec)
    archive.add_endpoint("from_ids", from_ids, input_signature=[ids_spec])
    return write_version(base_path, lambda tmp: archive.write_out(str(tmp), verbose=False))
