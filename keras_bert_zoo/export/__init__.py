"""Shipping models: SavedModel for TF Serving (TFLite and ONNX come with the export issue)."""

from keras_bert_zoo.export.saved_model import saved_model
from keras_bert_zoo.export.versions import next_version, write_version
