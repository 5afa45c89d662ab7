"""Quantization: Keras' own int8 weights (`quantize_int8`), and quantization-aware fine-tuning (`FakeQuantWeights`).

`quantize_int8(model)` is a copy of a task model (or encoder) after Keras 3's `model.quantize("int8")`: the
dense and einsum-dense kernels become int8 with a float scale per output channel, and the model runs and
exports as a SavedModel (`kbz.export.saved_model`) like the float one. Its config records the mode
(`models.backbone.quantization_of`), so its `.keras` file loads back quantized.

`FakeQuantWeights` is a `model.fit` callback for quantization-aware fine-tuning: each step runs forward and
backward with the dense kernels rounded to int8 per output channel (as the TFLite int8 converter rounds them)
and applies the step's update to the float kernels (the straight-through estimator), so the fine-tuned
weights suit `kbz.export.tflite(model, path, "int8", representative_texts)`. Activations are not
fake-quantized: the converter calibrates their ranges on the representative texts.

Example:
>>> import numpy as np, keras_bert_zoo as kbz
>>> model = kbz.BertClassifier(kbz.BertEncoder(50, 1, 2, 16, 32), num_classes=2)
>>> ids = np.ones((2, 6), "int32")
>>> inputs = {"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids}
>>> small = quantize_int8(model)
>>> small.get_layer("logits").quantization_mode, float(np.abs(small(inputs) - model(inputs)).max()) < 0.01
('int8', True)
>>> callback = FakeQuantWeights()  # model.fit(data, callbacks=[callback]): quantization-aware fine-tuning
"""

import warnings

import keras
import numpy as np

from keras_bert_zoo.compress.head_importance import encoder_of
from keras_bert_zoo.compress.pruning import same_task_over
from keras_bert_zoo.models.task import is_backbone

# Left in float by `kbz.export.tflite(..., "int8")` (its INT8_FLOAT_LAYERS): their inputs' outliers need it.
FLOAT_LAYERS = ("feedforward_output_dense",)


def quantize_int8(model):
    """A copy of `model` (a task model or backbone of the package) with Keras' int8 weight quantization."""
    encoder = model if is_backbone(model) else encoder_of(model)
    clone = type(encoder).from_config(encoder.get_config())
    if not is_backbone(model):
        clone = same_task_over(model, clone)
    clone.set_weights(model.get_weights())
    with warnings.catch_warnings():  # one per layer without int8 kernels (LayerNorm, Dropout, ...): expected
        warnings.filterwarnings("ignore", message=".*does not have a `quantize` method")
        clone.quantize("int8")
    return clone


def _channel_axes(variable):
    """The axes a kernel's int8 scale is shared over: all but its output units (a dense [in, out] kernel,
    an attention [in, heads, head_dim] projection, the attention output [heads, head_dim, out])."""
    if variable.path.endswith("attention_output/kernel"):
        return tuple(range(len(variable.shape) - 1))
    return (0,)


def fake_quant(value, axes):
    """`value` rounded to symmetric int8 with one scale per slice over `axes` (abs max / 127), in float."""
    scale = np.maximum(np.max(np.abs(value), axis=axes, keepdims=True), 1e-12) / 127.0
    return (np.clip(np.round(value / scale), -127, 127) * scale).astype(value.dtype)


class FakeQuantWeights(keras.callbacks.Callback):
    """During `fit`, every step sees int8-rounded dense kernels and updates the float ones (see the module).

    `float_layers`: names of layers left in float (by default those the TFLite int8 export keeps float).
    Run it with `steps_per_execution=1` (the default): the swap happens between steps.
    """

    def __init__(self, float_layers=FLOAT_LAYERS):
        super().__init__()
        self.float_layers = tuple(float_layers)
        self._saved = []

    def _kernels(self):
        return [v for v in self.model.trainable_weights
                if v.path.endswith("/kernel") and len(v.shape) >= 2
                and not any(f"{name}/" in v.path for name in self.float_layers)]

    def on_train_batch_begin(self, batch, logs=None):
        self._saved = []
        for variable in self._kernels():
            value = keras.ops.convert_to_numpy(variable)
            rounded = fake_quant(value, _channel_axes(variable))
            variable.assign(rounded)
            self._saved.append((variable, value, rounded))

    def on_train_batch_end(self, batch, logs=None):
        for variable, value, rounded in self._saved:  # the float kernel plus this step's update
            variable.assign(value + (keras.ops.convert_to_numpy(variable) - rounded))
        self._saved = []
