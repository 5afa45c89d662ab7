"""keras_bert_zoo: BERT-family models in Keras 3, from checkpoint to served model.

>>> import keras_bert_zoo as kbz
>>> encoder = kbz.load("all_minilm_l6_v2")  # a BertEncoder with real weights, from its pip package

Layout (a lower level never imports a higher one; tests/test_layering.py keeps it so): errors, names (shared
input names, IGNORE_LABEL), vocabulary, layers -> models/ (one folder per family: bert/, roberta/ (RoBERTa,
XLM-R), distilbert/; task heads; families: model_type -> Family) beside checkpoints/ (HF and Google files in
and out, knowing no model), presets, preset_weights -> text/ -> loading (`kbz.load`, `load_tokenizer`,
`load_preprocessor`), saving (`kbz.save_hf`, `save_google_checkpoint`) -> data/ (readers/, features/, one
pipeline per task) -> training/, distribute/ -> export/ -> tasks/ (each task's whole training run, which
recipes/<task>.py and `keras-bert-zoo train TASK` call) -> cli. A new model family is one folder under models/
and one entry in models/families.py.

Importing the package is cheap: each name below imports its module (and TensorFlow, where that module
needs it) the first time it is used, so `keras-bert-zoo --help` or `presets` never load TensorFlow.
"""

from keras_bert_zoo.lazy import lazy_names

__version__ = "0.1.0"

# name -> the module that holds it; a name equal to its module's last part is the module itself.
# A module is imported only when one of its names is used.
_LAZY = {
    # submodules
    "compress": "keras_bert_zoo.compress",
    "data": "keras_bert_zoo.data",
    "distribute": "keras_bert_zoo.distribute",
    "export": "keras_bert_zoo.export",
    "metrics": "keras_bert_zoo.metrics",
    "presets": "keras_bert_zoo.presets",
    "training": "keras_bert_zoo.training",
    # objects
    "AlbertEncoder": "keras_bert_zoo.models.albert",
    "BertEncoder": "keras_bert_zoo.models.bert",
    "DebertaV3Encoder": "keras_bert_zoo.models.deberta",
    "DistilBertEncoder": "keras_bert_zoo.models.distilbert",
    "ElectraEncoder": "keras_bert_zoo.models.electra",
    "RobertaEncoder": "keras_bert_zoo.models.roberta",
    "XLMRobertaEncoder": "keras_bert_zoo.models.roberta",
    "BertClassifier": "keras_bert_zoo.models",
    "BertEncoderDecoder": "keras_bert_zoo.models.encoder_decoder",
    "BertMultipleChoice": "keras_bert_zoo.models",
    "BertPretrainer": "keras_bert_zoo.models",
    "BertSpanQA": "keras_bert_zoo.models",
    "BertTokenClassifier": "keras_bert_zoo.models",
    "BertExtractiveSummarizer": "keras_bert_zoo.models",
    "BertPreprocessor": "keras_bert_zoo.text",
    "BertTokenizer": "keras_bert_zoo.text",
    "BytePairTokenizer": "keras_bert_zoo.text",
    "SentencePieceTokenizer": "keras_bert_zoo.text",
    "save_google_checkpoint": "keras_bert_zoo.saving",
    "save_hf": "keras_bert_zoo.saving",
    "load": "keras_bert_zoo.loading",
    "load_preprocessor": "keras_bert_zoo.loading",
    "load_tokenizer": "keras_bert_zoo.loading",
    "loading": "keras_bert_zoo.loading",
    "preset_weights": "keras_bert_zoo.preset_weights",
}

__all__ = sorted(_LAZY)  # `from keras_bert_zoo import *` imports every module above


__getattr__, __dir__ = lazy_names(__name__, _LAZY)
