"""WordPiece ids -> text, in Python: as transformers' `BertTokenizer.decode(ids, skip_special_tokens=True)` writes
it, and optionally with punctuation spaced as written text spaces it. The exported generators do the same in the
graph (`keras_bert_zoo.export.serving.wordpiece_decoding`), so a recipe scores the text its SavedModel serves.

Example:
>>> from keras_bert_zoo.text import BertTokenizer
>>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "T", "-", "Sh", "##irt", ",", "2", "."])
>>> ids = [2, 5, 6, 7, 8, 9, 10, 11, 10, 3, 0]
>>> decode_wordpiece(tokenizer, ids), decode_wordpiece(tokenizer, ids, written_spacing=True)
('T - Shirt, 2. 2', 'T-Shirt, 2.2')
"""

import re

from keras_bert_zoo.text.tokenizer import SPECIAL_TOKENS

PREFIX = "##"
# The `tokenizers` WordPiece decoder's clean-up of each token, in its order (decoders/wordpiece.rs `cleanup`).
CLEANUP = ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
           (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"))
# WordPiece splits off every punctuation mark, so the text comes back "T - Shirt , 2 . 5 m": these put back the
# spacing most text has (patterns both Python's re and RE2, the graph's regex engine, read alike).
WRITTEN_SPACING = (
    (r" ([.,!?;:)\]}%])", r"\1"),  # no space before a closing mark
    (r"([(\[{$]) ", r"\1"),  # nor after an opening one
    (r" ?([-'/]) ?", r"\1"),  # hyphenated words, elisions ("man's"), "and/or"
    (r"(\d[.,]) (\d)", r"\1\2"),  # 2.5, 1,000
)


def cleanup(token):
    """One decoded token after the WordPiece decoder's clean-up."""
    for dirty, clean in CLEANUP:
        token = token.replace(dirty, clean)
    return token


def space_as_written(text):
    """`text` with `WRITTEN_SPACING` applied."""
    for pattern, replacement in WRITTEN_SPACING:
        text = re.sub(pattern, replacement, text)
    return text


def decode_wordpiece(tokenizer, ids, written_spacing=False):
    """The text of WordPiece `ids` (one row) for the `BertTokenizer` `tokenizer`: special tokens dropped, "##"
    pieces joined to the token before, others after a space, each token cleaned up as transformers does."""
    special = {tokenizer.token_to_id(token) for token in SPECIAL_TOKENS}
    tokens = [tokenizer.id_to_token(int(i)) for i in ids if int(i) not in special]
    text = "".join(cleanup(token if i == 0 else token[len(PREFIX):] if token.startswith(PREFIX) else " " + token)
                   for i, token in enumerate(tokens))
    return space_as_written(text) if written_spacing else text
