"""A served model's outputs as one plain dict per example, and one readable line per task.

Local runs, TF Serving's gRPC and its REST API all end in `split_examples`, so a prediction reads the
same (same keys, same float32 values, strings as `str`) whichever way the model was served.
"""

import numpy as np

from keras_bert_zoo.export.serving import OutputSchema, schema_of


def _plain(value):
    """numpy → Python lists and scalars; bytes → str."""
    if isinstance(value, (np.ndarray, np.generic)):
        if value.dtype.kind == "f" and value.dtype.itemsize < 8:
            # Through float32's shortest decimal, so a result reads 0.1 rather than 0.10000000149011612.
            value = value.astype(str).astype(np.float64)
        value = value.tolist()
    if isinstance(value, bytes):
        # Served strings are UTF-8 text; an odd byte must not make the whole answer unreadable.
        return value.decode("utf-8", errors="replace")
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _cut_padding(example, schema):
    """Cuts the lists padded to the batch's longest to the length their count output gives."""
    for count, names in schema.counts.items():
        for name in names:
            example[name] = example[name][: example[count]]
    return example


def split_examples(outputs):
    """`{output name: array with the batch first}` → one `{output name: plain value}` dict per example.

    Lists padded to the batch's longest are cut as the outputs' `OutputSchema` counts them.

    Example:
    >>> from keras_bert_zoo.export.serving import token_classifier
    >>> outputs = {name: np.array([[b"Paris", b""], [b"", b""]]) for name in token_classifier.ENTITIES.names}
    >>> outputs.update(num_entities=np.array([1, 0]), num_words=np.array([2, 0]), truncated=np.array([False, False]))
    >>> [example["entity_text"] for example in split_examples(outputs)]
    [['Paris'], []]
    >>> split_examples({"label": np.array([b"pos", b"neg"])})
    [{'label': 'pos'}, {'label': 'neg'}]
    """
    sizes = {len(value) for value in outputs.values()}
    if len(sizes) != 1:
        raise ValueError(f"outputs disagree on the batch size: { {k: len(v) for k, v in outputs.items()} }")
    names = sorted(outputs)  # the same key order whichever way the model was served
    schema = schema_of(names) or OutputSchema(frozenset(names))
    return [_cut_padding({name: _plain(outputs[name][i]) for name in names}, schema) for i in range(sizes.pop())]


def shown_text(text, limit=80):
    """An input as `keras-bert-zoo predict` echoes it: whole up to `limit` characters, else its first words
    quoted, with its length; an empty or blank one quoted.

    Example:
    >>> shown_text("a great movie")
    'a great movie'
    >>> shown_text("dull and tedious " * 6000)
    '"dull and tedious dull and tedious dull and tedious dull and…" (102,000 chars)'
    """
    if not text.strip():
        return f'"{text}"'  # visibly empty
    if len(text) <= limit:
        return text
    head = text[: limit - 20]
    words = head.split()
    if len(words) > 1 and not head[-1].isspace() and not text[len(head)].isspace():
        words = words[:-1]  # a word cut in the middle
    return f'"{" ".join(words)}…" ({len(text):,} chars)'


def describe(example):
    """One readable line for one example's outputs, as its task's `OutputSchema` writes it; outputs of no
    known task print as `name=value` pairs.

    Example:
    >>> describe({"label": "positive", "label_id": 1, "probabilities": [0.25, 0.75]})
    'positive (0.750)'
    >>> describe({"answer": "", "answer_start": -1, "answer_end": -1, "score": 0.1, "has_answer": False,
    ...           "null_odds": 1.0})
    'no answer (score 0.100)'
    >>> describe({"x": 1, "y": "b"})
    'x=1; y=b'
    """
    schema = schema_of(example)
    if schema is not None and schema.describe is not None:
        return schema.describe(example)
    return "; ".join(f"{name}={value}" for name, value in example.items())
