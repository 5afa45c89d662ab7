"""A WordPiece vocabulary learnt from text by tensorflow-text's builder (`bert_vocab_from_dataset`), in the
vocab.txt format `BertTokenizer` reads: BERT's special tokens first ([PAD] is id 0), then the characters, words
and "##" word pieces the text needs.

Example:
>>> vocabulary = build_wordpiece_vocabulary(["Ein Hund läuft.", "Zwei Hunde laufen."] * 20, 60)
>>> vocabulary[:5], "Hund" in vocabulary, "ä" in vocabulary
(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'], True, True)
"""

from pathlib import Path

import tensorflow as tf
from tensorflow_text.tools.wordpiece_vocab.bert_vocab_from_dataset import bert_vocab_from_dataset

from keras_bert_zoo.text.tokenizer import SPECIAL_TOKENS


def build_wordpiece_vocabulary(texts, vocabulary_size, lowercase=False, min_count=2):
    """The tokens of a WordPiece vocabulary of about `vocabulary_size` learnt from `texts` (a list of strings).

    Words are split as BERT splits them (white space and punctuation; `lowercase` lowercases and strips
    accents, as an uncased `BertTokenizer` does: use the same setting there). The builder keeps the word
    pieces seen at least a threshold number of times, searched between `min_count` and the most frequent word's
    count so that the vocabulary comes close to `vocabulary_size`: a few percent over it (the characters it must
    keep) or under it (a small text, where every piece seen `min_count` times fits: 6,407 tokens for 8,000 on
    Multi30k's 58,000 English and German sentences).
    """
    if not texts:
        raise ValueError("no texts to learn a vocabulary from.")
    if vocabulary_size <= len(SPECIAL_TOKENS):
        raise ValueError(f"vocabulary_size={vocabulary_size} leaves no room beside the special tokens "
                         f"{list(SPECIAL_TOKENS)}.")
    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(list(texts), tf.string)).batch(1024)
    return bert_vocab_from_dataset(dataset, vocabulary_size, list(SPECIAL_TOKENS),
                                   bert_tokenizer_params={"lower_case": bool(lowercase)},
                                   learn_params={"lower_thresh": min_count})


def write_vocabulary(tokens, path):
    """Writes `tokens` one a line (vocab.txt) to `path`, creating its folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{token}\n" for token in tokens), encoding="utf-8")
    return path
