"""CoNLL-2003 style NER files: one word a line with its tag, blank lines between sentences.

Example:
>>> from keras_bert_zoo.data import read_conll, ner_dataset, ner_label_names  # doctest: +SKIP
>>> train = read_conll("conll2003/train.txt")  # doctest: +SKIP
>>> ds = ner_dataset(train, preprocessor, 32, label_names=ner_label_names(train.tags))  # doctest: +SKIP
"""

import dataclasses
import re

_TAG = re.compile(r"^(O|[BIES]-.+)$")


@dataclasses.dataclass
class TaggedSentences:
    """Sentences as lists of words, with one tag per word."""

    words: list  # [sentence][word]
    tags: list  # [sentence][word]


def _tag_column(rows, path):
    """The last column whose every value looks like a tag (O, B-X, I-X, E-X, S-X)."""
    width = len(rows[0][1])
    for column in range(width - 1, 0, -1):
        if all(_TAG.match(fields[column]) for _, fields in rows):
            return column
    raise ValueError(f"{path}: no column holds only O / B-X / I-X tags; pass tag_column=.")


def read_conll(path, tag_column=None):
    """Reads `TOKEN POS CHUNK TAG`, `TOKEN TAG` or `TOKEN TAG 0` lines into `TaggedSentences`.

    Blank lines separate sentences and `-DOCSTART-` lines are skipped. The tag column is the last
    one that holds only tags (O, B-X, I-X, E-X, S-X), unless `tag_column` (an index, may be negative)
    says otherwise. Every line must have the same number of fields.

    Example:
    >>> data = read_conll("tests/data/conll2003/test_first300.txt")  # doctest: +SKIP
    >>> data.words[1], data.tags[1]  # doctest: +SKIP
    (['Nadim', 'Ladki'], ['B-PER', 'I-PER'])
    """
    rows, sentence_of_row, sentence = [], [], 0
    with open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                sentence += 1
            elif fields[0] != "-DOCSTART-":
                if rows and len(fields) != len(rows[0][1]):
                    raise ValueError(
                        f"{path}:{line_number} has {len(fields)} fields, line {rows[0][0]} has "
                        f"{len(rows[0][1])}."
                    )
                rows.append((line_number, fields))
                sentence_of_row.append(sentence)
    if not rows:
        return TaggedSentences([], [])
    if len(rows[0][1]) < 2:
        raise ValueError(f"{path}: lines need a token and a tag, got {rows[0][1]}.")
    column = _tag_column(rows, path) if tag_column is None else tag_column
    words, tags, previous = [], [], None
    for (_, fields), index in zip(rows, sentence_of_row):
        if index != previous:
            words.append([])
            tags.append([])
            previous = index
        words[-1].append(fields[0])
        tags[-1].append(fields[column])
    return TaggedSentences(words, tags)


def ner_label_names(tags):
    """The distinct tags of `tags` ([sentence][word]): "O" first, then by entity type, B- before I-.

    >>> ner_label_names([["B-PER", "I-PER", "O", "B-LOC"]])
    ['O', 'B-LOC', 'B-PER', 'I-PER']
    """
    distinct = {tag for sentence in tags for tag in sentence}
    return sorted(distinct, key=lambda tag: (tag != "O", tag[2:], tag[:2]))
