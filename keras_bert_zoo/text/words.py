"""Words of raw text, split in the graph where BERT's basic tokenizer splits, with their offsets.

A word is a run of characters between whitespace (tab, newline, carriage return and the Unicode
space separators, which the tokenizer's normalizer turns into spaces), except that each
punctuation character (Unicode P*, plus the ASCII symbols BERT counts as punctuation) and each CJK
ideograph is a word of its own: the words of Hugging Face's `BertPreTokenizer` after its
`BertNormalizer`, with the same character offsets, except that control characters at the edge of
a word stay in its span (Hugging Face leaves them out; inside a word both keep them). tensorflow-text's
regex split is used because tensorflow-text has no op that returns BERT's basic-tokenizer words.

Example:
>>> import tensorflow as tf
>>> texts = tf.constant(["Héllo, world!"])
>>> words, begin, end = split_words(texts)
>>> words.to_list(), end.to_list(), char_offsets(texts, end).to_list()
([[b'H\\xc3\\xa9llo', b',', b'world', b'!']], [[6, 7, 13, 14]], [[5, 6, 12, 13]])
>>> substrings(texts, begin.to_tensor(), end.to_tensor()).numpy().tolist()
[[b'H\\xc3\\xa9llo', b',', b'world', b'!']]
"""

import tensorflow as tf
import tensorflow_text as text

from keras_bert_zoo.text.tokenizer import ragged_value_rowids

# BERT's punctuation: Unicode P*, plus ASCII 33-47, 58-64, 91-96 and 123-126 ($ + < = > ^ ` | ~ are S*).
_PUNCTUATION = r"!-/:-@\[-`{-~\p{P}"
# The CJK ideograph blocks BERT's basic tokenizer puts spaces around.
_CJK = (r"\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}\x{2A700}-\x{2B73F}\x{2B740}-\x{2B81F}"
        r"\x{2B820}-\x{2CEAF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}")
_ONE_CHAR_WORD = f"[{_PUNCTUATION}{_CJK}]"
_SPACE = r"[\t\n\r\p{Zs}\p{Zl}\p{Zp}]+"


def split_words(texts):
    """`(words, begin, end)`, ragged [batch, (words)]: the words as the tokenizer reads them, and their
    UTF-8 byte spans in `texts`.

    tensorflow-text's regex split stops at a NUL byte, so it splits a copy with \x01 for NUL: a
    control character too, which the tokenizer drops alike and which splits nothing. `substrings`
    cuts the words out of the original text.
    """
    no_nul = tf.strings.regex_replace(texts, r"\x00", "\x01")
    return text.regex_split_with_offsets(no_nul, f"{_SPACE}|{_ONE_CHAR_WORD}", _ONE_CHAR_WORD)


def substrings(texts, begin, end):
    """`texts[row][begin:end]` for dense [batch, n] byte offsets (in range; "" where end <= begin).

    `substr` broadcasts each text over its row of offsets instead of copying it once per word.
    """
    return tf.strings.substr(texts[:, None], begin, tf.maximum(end - begin, 0))


def char_offsets(strings, byte_offsets):
    """Byte offsets (ragged [batch, (tokens)]) into UTF-8 `strings` -> code point offsets."""
    _, char_starts = tf.strings.unicode_decode_with_offsets(strings, "UTF-8")
    width = tf.cast(tf.maximum(tf.reduce_max(tf.strings.length(strings)), 0) + 1, tf.int64)
    keys = char_starts.flat_values + ragged_value_rowids(char_starts) * width  # sorted across rows
    rows = ragged_value_rowids(byte_offsets)
    values = tf.cast(byte_offsets.flat_values, tf.int64) + rows * width
    chars = tf.searchsorted(keys, values, side="left") - tf.gather(
        tf.cast(char_starts.row_starts(), tf.int32), rows
    )
    return byte_offsets.with_flat_values(chars)
