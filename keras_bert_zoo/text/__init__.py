"""In-graph text preprocessing for BERT: tokenizer, packer and preprocessor (Keras layers)."""

from keras_bert_zoo.text.byte_pair import BytePairTokenizer
from keras_bert_zoo.text.packer import BertPacker
from keras_bert_zoo.text.preprocessor import BertPreprocessor
from keras_bert_zoo.text.tokenizer import BertTokenizer

__all__ = ["BertPacker", "BertPreprocessor", "BertTokenizer", "BytePairTokenizer"]
