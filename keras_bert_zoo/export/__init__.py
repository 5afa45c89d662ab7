"""Shipping models: SavedModel for TF Serving, TFLite for phones, ONNX through tf2onnx, and clients for each.

Each name below imports its module the first time it is used, so a SavedModel export never loads
tf2onnx or LiteRT, and a TFLite one never loads tf2onnx. What each task serves is in
`keras_bert_zoo.export.serving`, one module per task.

>>> import keras_bert_zoo as kbz
>>> sorted(kbz.export.__all__)[:3]
['GrpcModel', 'LocalModel', 'OnnxGenerator']
"""

from keras_bert_zoo.lazy import lazy_names

_LAZY = {
    "saved_model": "keras_bert_zoo.export.saved_model_export",
    "tflite": "keras_bert_zoo.export.tflite_export",
    "tflite_interpreter": "keras_bert_zoo.export.tflite_export",
    "tflite_generator": "keras_bert_zoo.export.tflite_generator_export",
    "onnx": "keras_bert_zoo.export.onnx_export",
    "onnx_generator": "keras_bert_zoo.export.onnx_generator_export",
    "OnnxGenerator": "keras_bert_zoo.export.onnx_generator_runner",
    "ServedModel": "keras_bert_zoo.export.saved_model_files",
    "next_version": "keras_bert_zoo.export.saved_model_files",
    "write_version": "keras_bert_zoo.export.saved_model_files",
    "ServingLimits": "keras_bert_zoo.export.serving",
    "LocalModel": "keras_bert_zoo.export.serving_client",
    "GrpcModel": "keras_bert_zoo.export.serving_client",
    "RestModel": "keras_bert_zoo.export.serving_client",
    "ServingError": "keras_bert_zoo.export.serving_client",
    "TfliteModel": "keras_bert_zoo.export.file_clients",
    "OnnxModel": "keras_bert_zoo.export.file_clients",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_names(__name__, _LAZY)
