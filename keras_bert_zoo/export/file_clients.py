"""Runs a `.tflite` or `.onnx` export on raw strings, answering as `serving_client.LocalModel` answers.

Both clients have the serving clients' interface (`client.signature`, `client.predict({input name:
[text, ...]})` → one dict of outputs per example), so `keras-bert-zoo predict` prints the same lines
for every format:

- `TfliteModel` runs the file through LiteRT with tensorflow-text's kernels; the tokenizer is inside.
  A token classifier's .tflite answers per wordpiece, and its wordpieces are grouped into words and
  entities here (`predictions.wordpiece_entities`), without character offsets. A generator's .tflite
  answers ids, turned into the SavedModel's `generated_text` here (`target_decoding`).
- `OnnxModel` rebuilds the preprocessor from the files the ONNX export writes beside the model
  (`<file>.tokenizer/`, `<file>.preprocessing.json`) and runs the task's SavedModel serving graph
  (`saved_model.serving_graph`: windows, decoding, request limits) with onnxruntime in the encoder's
  place, so its outputs are the SavedModel's.
- `OnnxGeneratorModel` runs an `onnx_generator` folder: the preprocessor and the target tokenizer from the
  files beside its graphs, the greedy loop of `OnnxGenerator` between them; its outputs are the SavedModel's
  (`generated_text`, `token_ids`, `num_tokens`) for the same `max_length`.

Example:
>>> TfliteModel("sst2.tflite").predict({"text": ["a great movie"]})  # doctest: +SKIP
[{'label': 'positive', 'label_id': 1, 'probabilities': [0.04, 0.96]}]
>>> OnnxModel("sst2.onnx").predict({"text": ["a great movie"]})  # doctest: +SKIP
[{'label': 'positive', 'label_id': 1, 'probabilities': [0.04, 0.96]}]
"""


from pathlib import Path

import numpy as np
import onnxruntime
import tensorflow as tf

from keras_bert_zoo.export.onnx_generator_runner import ENCODER_FILE, STEP_FILE, OnnxGenerator
from keras_bert_zoo.export.predictions import split_examples
from keras_bert_zoo.export.preprocessing_files import read_preprocessing, saved_preprocessor
from keras_bert_zoo.export.saved_model_export import serving_graph
from keras_bert_zoo.export.serving import ServingLimits, ServingOptions, schema_of
from keras_bert_zoo.export.serving.token_classifier import WORDPIECE_TAGS, wordpiece_entities
from keras_bert_zoo.export.serving_client import ServingError, Signature, check_inputs
from keras_bert_zoo.export.target_decoding import target_decoder
from keras_bert_zoo.export.tflite_export import tflite_interpreter

GENERATED_IDS = frozenset({"token_ids", "num_tokens"})  # what a generator's .tflite answers


def _generation_outputs():
    return {"generated_text": tf.TensorSpec([None], tf.string, "generated_text"),
            "token_ids": tf.TensorSpec([None, None], tf.int32, "token_ids"),
            "num_tokens": tf.TensorSpec([None], tf.int32, "num_tokens")}


class TfliteModel:
    """The `serving_default` signature of a .tflite export, run with LiteRT in this process.

    A .tflite that takes ids (a byte-level BPE family's) gets them from the preprocessor saved beside it, run
    here; its signature is then that of the text it was trained on (`text`, or `text_a` and `text_b`)."""

    def __init__(self, path):
        try:
            self._runner = tflite_interpreter(path).get_signature_runner()
        except (ValueError, RuntimeError) as error:
            raise ServingError(f"cannot load {path} with LiteRT: {error}") from None
        outputs = self._runner.get_output_details()
        inputs = self._runner.get_input_details()
        self._preprocessor = None
        if any(np.issubdtype(details["dtype"], np.integer) for details in inputs.values()):  # ids in
            settings = read_preprocessing(path)
            self._preprocessor = saved_preprocessor(path, settings)
            inputs = {name: {"shape_signature": [-1]} for name in
                      (("text_a", "text_b") if settings["options"]["pair"] else ("text",))}
        self.signature = Signature(
            {name: tf.TensorSpec([None] * (len(details["shape_signature"])), tf.string, name)
             for name, details in inputs.items()},
            {name: tf.TensorSpec([dim if dim >= 0 else None for dim in details["shape_signature"]],
                                 tf.as_dtype(details["dtype"]), name)
             for name, details in outputs.items()},
        )
        token_axis = outputs.get("token", {}).get("shape_signature", [-1, -1])[-1]
        self._sequence_length = int(token_axis) if token_axis > 0 else None
        self._decode = None
        if set(outputs) == GENERATED_IDS:  # a generator's: ids, decoded here with its target tokenizer
            self._decode = target_decoder(path)
            self.signature = Signature(self.signature.inputs, _generation_outputs())

    def predict(self, inputs):
        """`{input name: [text, ...]}` → one dict of outputs per example."""
        check_inputs(self.signature, inputs)
        if self._preprocessor is None:
            outputs = self._runner(**{name: np.array(texts, dtype=object) for name, texts in inputs.items()})
        else:
            texts = tuple(tf.constant(inputs[name], tf.string) for name in self.signature.inputs)
            ids = self._preprocessor(texts if len(texts) == 2 else texts[0])
            outputs = self._runner(**{name: value.numpy() for name, value in ids.items()})
        if self._decode is not None:
            outputs = self._decode(outputs)
        examples = split_examples(outputs)
        if schema_of(outputs) is WORDPIECE_TAGS:  # a token classifier's, per wordpiece
            return [wordpiece_entities(example, self._sequence_length) for example in examples]
        return examples


class OnnxModel:
    """An ONNX export with the preprocessing and decoding of its SavedModel export around it."""

    def __init__(self, path, limits=ServingLimits()):
        settings = read_preprocessing(path)
        try:
            session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types for a bad file
            raise ServingError(f"cannot load {path} with onnxruntime: {error}") from None
        preprocessor = saved_preprocessor(path, settings)
        graph = serving_graph(_OnnxEncoderTask(session, settings), preprocessor,
                              ServingOptions(**settings["options"]), limits, kind=settings["task"])
        self._names = [spec.name for spec in graph.text_inputs]
        self._serve = tf.function(graph.serve_text, input_signature=graph.text_inputs)
        outputs = self._serve.get_concrete_function().structured_outputs
        self.signature = Signature({spec.name: spec for spec in graph.text_inputs},
                                   {name: tf.TensorSpec(t.shape, t.dtype, name) for name, t in outputs.items()})

    def predict(self, inputs):
        """`{input name: [text, ...]}` → one dict of outputs per example."""
        check_inputs(self.signature, inputs)
        outputs = self._serve(*[tf.constant(inputs[name], tf.string) for name in self._names])
        return split_examples({name: value.numpy() for name, value in outputs.items()})


_ONNX_DTYPES = {"tensor(float)": tf.float32, "tensor(float16)": tf.float16}


class _OnnxEncoderTask:
    """Stands in for the Keras task model in a serving graph: calls run the ONNX file with onnxruntime."""

    def __init__(self, session, settings):
        self.num_classes, self.num_choices = settings["num_classes"], settings["num_choices"]
        self._session = session
        self._inputs = [value.name for value in session.get_inputs()]
        self._outputs = session.get_outputs()

    def __call__(self, inputs, training=False):
        names = [output.name for output in self._outputs]

        def run(*arrays):
            return self._session.run(names, dict(zip(self._inputs, arrays)))

        dtypes = [_ONNX_DTYPES[output.type] for output in self._outputs]
        values = tf.numpy_function(run, [inputs[name] for name in self._inputs], dtypes)
        for value, output in zip(values, self._outputs):
            value.set_shape([dim if isinstance(dim, int) else None for dim in output.shape])
        return values[0] if names == ["logits"] else dict(zip(names, values))


class OnnxGeneratorModel:
    """An `onnx_generator` folder answering text: its source preprocessor, the greedy loop over its two graphs
    (`OnnxGenerator`, at the export's `max_length`), and its target decoding; `limits` as the SavedModel's."""

    def __init__(self, folder, limits=ServingLimits()):
        folder = Path(folder)
        try:
            self._generator = OnnxGenerator(folder)
        except Exception as error:  # onnxruntime raises its own exception types for a bad file
            raise ServingError(f"cannot load the ONNX generator in {folder}: {error}") from None
        self._preprocessor = saved_preprocessor(folder / ENCODER_FILE)
        self._decode = target_decoder(folder / STEP_FILE)
        self._limits = limits
        self.signature = Signature({"text": tf.TensorSpec([None], tf.string, "text")}, _generation_outputs())

    def predict(self, inputs):
        """`{"text": [text, ...]}` → one dict of outputs per example."""
        check_inputs(self.signature, inputs)
        try:
            (texts,) = self._limits.check_texts(text=tf.constant(inputs["text"], tf.string))
        except tf.errors.InvalidArgumentError as error:
            raise ServingError(error.message) from None
        examples, chunk = [], self._limits.encoder_batch_size
        for start in range(0, len(inputs["text"]), chunk):  # as the SavedModel runs its rows
            encoded = self._preprocessor(texts[start:start + chunk])
            ids = self._generator.generate(encoded["token_ids"].numpy(), encoded["padding_mask"].numpy())
            examples += split_examples(self._decode({"token_ids": ids}))
        return examples
