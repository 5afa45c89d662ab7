"""Reading WordPiece vocabularies: one token per line, split on "\\n" only.

`str.splitlines` is not used on purpose: it also splits at \\x1c-\\x1e, \\x85, U+2028 and U+2029,
which can be (part of) tokens, and would shift every id after them.

Example:
>>> read_vocabulary(["[PAD]", "a\\u2028b"])
('[PAD]', 'a\\u2028b')
"""

from pathlib import Path


def read_vocabulary(vocabulary):
    """A vocab.txt path (one token a line) or a sequence of tokens -> tuple of tokens."""
    if isinstance(vocabulary, (str, Path)):
        lines = Path(vocabulary).read_text(encoding="utf-8").split("\n")
        if lines[-1] == "":
            lines.pop()
        vocabulary = [line.rstrip("\r") for line in lines]
    return tuple(vocabulary)
