"""keras_bert_zoo: BERT-family models in Keras 3, from checkpoint to served model.

>>> import keras_bert_zoo as kbz
>>> encoder = kbz.BertEncoder.from_preset("bert_tiny_uncased")
"""

from keras_bert_zoo import data, distribute, export, metrics, presets, training
from keras_bert_zoo.checkpoints import save_google_checkpoint, save_hf
from keras_bert_zoo.encoder import BertEncoder
from keras_bert_zoo.models import (
    BertClassifier,
    BertMultipleChoice,
    BertPretrainer,
    BertSpanQA,
    BertTokenClassifier,
)
from keras_bert_zoo.text import BertPreprocessor, BertTokenizer

__version__ = "0.1.0"
