"""WordPiece ids -> text in the graph, as Hugging Face's BERT tokenizer decodes with `skip_special_tokens=True`.

transformers' `BertTokenizer.decode` runs the Rust `tokenizers` WordPiece decoder (`cleanup=True`): special tokens
([PAD] [UNK] [CLS] [SEP] [MASK]) are dropped first; then every token but the first loses its "##" prefix or gains a
leading space, and each token so prefixed goes through the decoder's clean-up (" ." -> ".", " n't" -> "n't", ...).
tensorflow-text's `FastWordpieceTokenizer.detokenize` keeps special tokens and does no clean-up, so this is written
here; since the clean-up sees one token at a time, its three possible results per vocabulary entry (first token,
"##" continuation, spaced word) are computed once at export and gathered in the graph.

Example:
>>> import keras_bert_zoo as kbz
>>> tokenizer = kbz.BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "##s", ",", "world", "!"])
>>> decode = wordpiece_decoder(tokenizer)
>>> decode(tf.constant([[2, 5, 6, 7, 8, 9, 3, 0]]), tf.constant([7])).numpy().tolist()
[b'hellos, world!']
"""

import numpy as np
import tensorflow as tf

from keras_bert_zoo.text.tokenizer import SPECIAL_TOKENS
from keras_bert_zoo.text.wordpiece_text import PREFIX, WRITTEN_SPACING, cleanup


def wordpiece_decoder(tokenizer, written_spacing=False):
    """A graph function `(ids [batch, n] int, num_tokens [batch] int) -> text [batch] string` for the `BertTokenizer`
    `tokenizer`: the first `num_tokens` ids of each row, decoded as transformers decodes them (and with
    `written_spacing`, punctuation spaced as `keras_bert_zoo.text.wordpiece_text.space_as_written` spaces it)."""
    vocabulary = tokenizer.get_vocabulary()
    size = len(vocabulary)
    # Rows: [first token of the text, "##" continuation, any other token], each after the clean-up.
    pieces = [[cleanup(token) for token in vocabulary],
              [cleanup(token[len(PREFIX):] if token.startswith(PREFIX) else " " + token) for token in vocabulary]]
    table = tf.constant(np.array(pieces, dtype=object).reshape(-1))
    special = np.zeros(size, bool)
    special[[tokenizer.token_to_id(token) for token in SPECIAL_TOKENS]] = True
    special = tf.constant(special)

    def decode(ids, num_tokens):
        ids = tf.cast(ids, tf.int32)
        positions = tf.range(tf.shape(ids)[1])[tf.newaxis, :]
        keep = (positions < tf.cast(num_tokens, tf.int32)[:, tf.newaxis]) & ~tf.gather(special, ids)
        first = keep & (tf.cumsum(tf.cast(keep, tf.int32), axis=1) == 1)
        text = tf.gather(table, tf.where(first, ids, ids + size))
        text = tf.strings.reduce_join(tf.where(keep, text, ""), axis=1)
        for pattern, replacement in WRITTEN_SPACING if written_spacing else ():
            text = tf.strings.regex_replace(text, pattern, replacement)
        return text

    return decode
