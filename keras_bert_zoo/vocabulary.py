"""Reading WordPiece vocabularies: one token per line, split on "\\n" only.

`str.splitlines` is not used on purpose: it also splits at \\x1c-\\x1e, \\x85, U+2028 and U+2029,
which can be (part of) tokens, and would shift every id after them.

A token listed twice maps to its last line's id, as transformers' `BertTokenizer` maps it; its
earlier lines keep their ids but hold a placeholder no text tokenizes to (with a warning).

Example:
>>> read_vocabulary(["[PAD]", "a\\u2028b"])
('[PAD]', 'a\\u2028b')
"""

import warnings
from pathlib import Path

from keras_bert_zoo.errors import CheckpointError

_BOM = "\ufeff"


def _read_lines(path):
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise CheckpointError(
            f"{path}: not UTF-8 (byte {error.start}, line {line}: {data[error.start:error.start + 1]!r}); "
            "vocab.txt files are UTF-8."
        ) from None
    if text.startswith(_BOM):
        raise CheckpointError(
            f"{path}: starts with a UTF-8 byte-order mark, which would become part of the first token "
            f"({text[1:].split(chr(10))[0]!r} would not be found; transformers reads it the same way). "
            "Save the file as UTF-8 without a BOM."
        )
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def read_vocabulary(vocabulary):
    """A vocab.txt path (one token a line) or a sequence of tokens -> tuple of tokens."""
    source = vocabulary if isinstance(vocabulary, (str, Path)) else "the vocabulary"
    tokens = _read_lines(vocabulary) if isinstance(vocabulary, (str, Path)) else list(vocabulary)
    last_id = {token: i for i, token in enumerate(tokens)}
    for i, token in enumerate(tokens):
        if last_id[token] != i:
            warnings.warn(
                f"{source}: token {token!r} is on lines {i + 1} and {last_id[token] + 1}; it maps to id "
                f"{last_id[token]} (the last, as in transformers) and id {i} is left unused.",
                stacklevel=2,
            )
            tokens[i] = f"[duplicate of line {last_id[token] + 1}, line {i + 1}]"
    return tuple(tokens)
