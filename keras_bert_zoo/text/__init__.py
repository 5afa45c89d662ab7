"""In-graph text preprocessing for every family: tokenizers (WordPiece, byte-level BPE, SentencePiece), packer
and preprocessor (Keras layers)."""

from keras_bert_zoo.text.byte_pair import BytePairTokenizer
from keras_bert_zoo.text.packer import BertPacker
from keras_bert_zoo.text.preprocessor import BertPreprocessor
from keras_bert_zoo.text.sentencepiece import SentencePieceTokenizer
from keras_bert_zoo.text.tokenizer import BertTokenizer

__all__ = ["BertPacker", "BertPreprocessor", "BertTokenizer", "BytePairTokenizer", "SentencePieceTokenizer"]
