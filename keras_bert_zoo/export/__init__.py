"""Shipping models: SavedModel for TF Serving, TFLite for phones, ONNX through tf2onnx, and serving clients."""

from keras_bert_zoo.export.onnx_export import onnx
from keras_bert_zoo.export.saved_model import saved_model
from keras_bert_zoo.export.served_model import ServedModel
from keras_bert_zoo.export.serving_client import GrpcModel, LocalModel, RestModel, ServingError
from keras_bert_zoo.export.tflite import tflite, tflite_interpreter
from keras_bert_zoo.export.versions import next_version, write_version
