"""TF Serving warmup requests: `assets.extra/tf_serving_warmup_requests` in a SavedModel version.

TF Serving replays these `PredictionLog` records when it loads a version, before it serves it, so
the first real request does not pay for graph initialization. A record that fails makes the load
fail, which is why `warmup_inputs` checks every example against the signature's inputs.

Example:
>>> import tensorflow as tf
>>> batches = warmup_inputs(["Hello there."], [tf.TensorSpec([None], tf.string, name="text")])
>>> batches[0]["text"].numpy().tolist()
[b'Hello there.']
>>> write_warmup_requests("version_dir", batches)
PosixPath('version_dir/assets.extra/tf_serving_warmup_requests')
"""

from pathlib import Path

import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"
MAX_WARMUP_RECORDS = 1000  # TF Serving refuses to load a version with more


def _as_dict(example, names, number):
    """One example as `{input name: value}`: a dict, a tuple/list in input order, or one string."""
    if isinstance(example, dict):
        values = example
    elif isinstance(example, (tuple, list)):
        if len(example) != len(names):
            raise ValueError(f"Warmup example {number} has {len(example)} values for the inputs {names}.")
        values = dict(zip(names, example))
    elif len(names) == 1:
        values = {names[0]: example}
    else:
        raise ValueError(f"Warmup example {number} is one value; the signature takes {names} (give a dict).")
    if sorted(values) != sorted(names):
        raise ValueError(f"Warmup example {number} has inputs {sorted(values)}; the signature takes {names}.")
    return values


def warmup_inputs(examples, input_specs):
    """Each example as a batch of one: `{input name: tf.string tensor}`, checked against `input_specs`.

    An example is a dict keyed by input name, a tuple (or list) of values in input order, or, for a
    signature with one input, just its value; a value is a string (str or bytes) or, for an input
    with more dimensions (multiple-choice `choices`), a list of strings.
    """
    examples = list(examples)
    if not 1 <= len(examples) <= MAX_WARMUP_RECORDS:
        raise ValueError(f"Give 1 to {MAX_WARMUP_RECORDS} warmup examples (None for the default), not {len(examples)}.")
    names = [spec.name for spec in input_specs]
    batches = []
    for number, example in enumerate(examples):
        values = _as_dict(example, names, number)
        batch = {}
        for spec in input_specs:
            try:
                batch[spec.name] = tf.constant([values[spec.name]], tf.string)
            except (TypeError, ValueError) as error:
                raise ValueError(f"Warmup example {number}, input {spec.name!r}: not strings ({error}).") from None
            if not spec.is_compatible_with(batch[spec.name]):
                raise ValueError(
                    f"Warmup example {number}, input {spec.name!r}: shape {batch[spec.name].shape[1:]} per "
                    f"example, the signature takes {spec.shape[1:]}."
                )
        batches.append(batch)
    return batches


def write_warmup_requests(version_dir, batches, signature_name="serving_default"):
    """Writes one `PredictRequest` per batch of `warmup_inputs` to `version_dir`; returns the file's path."""
    path = Path(version_dir) / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for batch in batches:
            request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(signature_name=signature_name))
            for name, value in batch.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value.numpy()))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path
