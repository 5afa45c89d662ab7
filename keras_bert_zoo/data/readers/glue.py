"""GLUE-style TSV files: a header row, text columns and a label column picked by name."""

import csv
import dataclasses


@dataclasses.dataclass
class TextExamples:
    """Texts (one list per text column) with string labels, as read from a file."""

    texts: list  # [column][example]
    labels: list  # [example], strings ("" where the file has no label column)


def read_glue_tsv(path, text_columns=("sentence",), label_column="label"):
    """Reads a GLUE TSV (SST-2, CoLA with header, MRPC/RTE pairs, ...) by column name.

    GLUE text is not quoted, so quote characters are kept as they are. Rows with a different number
    of fields than the header raise an error naming the line.

    Example:
    >>> examples = read_glue_tsv("recipes/data/sst2/dev.tsv")  # doctest: +SKIP
    >>> len(examples.labels)  # doctest: +SKIP
    872
    """
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        raise ValueError(f"{path} is empty; expected a header row.")
    header = rows[0]
    wanted = list(text_columns) + ([label_column] if label_column in header else [])
    missing = [name for name in text_columns if name not in header]
    if missing:
        raise ValueError(f"{path} has no column {', '.join(missing)}; its header is {header}.")
    index = [header.index(name) for name in wanted]
    texts = [[] for _ in text_columns]
    labels = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}:{line} has {len(row)} fields, the header has {len(header)}.")
        values = [row[i] for i in index]
        for column, value in zip(texts, values):
            column.append(value)
        labels.append(values[-1] if label_column in header else "")
    return TextExamples(texts, labels)
