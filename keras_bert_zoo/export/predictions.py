"""A served model's outputs as one plain dict per example, and one readable line per task.

Local runs, TF Serving's gRPC and its REST API all end in `split_examples`, so a prediction reads the
same (same keys, same float32 values, strings as `str`) whichever way the model was served.
"""

import numpy as np



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


def _singular(plural):
    return plural[:-3] + "y" if plural.endswith("ies") else plural.removesuffix("s")


# The token classifier's `tags` are per word but do not share the `word_` prefix.
_COUNTED_BY = {"tags": "num_words"}


def _cut_padding(example):
    """Cuts lists padded to the batch's longest: `num_entities` = n keeps the first n of each `entity_*`.

    The rule is by name: a `num_<things>` output cuts `<things>` and the `<thing>_*` outputs.
    """
    for name, count in list(example.items()):
        if not name.startswith("num_") or not isinstance(count, int):
            continue
        things = name[len("num_"):]
        for other, value in example.items():
            counted = other == things or other.startswith(_singular(things) + "_") or _COUNTED_BY.get(other) == name
            if isinstance(value, list) and counted:
                example[other] = value[:count]
    return example


def split_examples(outputs):
    """`{output name: array with the batch first}` → one `{output name: plain value}` dict per example.

    Example:
    >>> for example in split_examples({"label": np.array([b"pos", b"neg"]), "num_entities": np.array([1, 0]),
    ...                                "entity_text": np.array([[b"Paris", b""], [b"", b""]])}):
    ...     print(example)
    {'entity_text': ['Paris'], 'label': 'pos', 'num_entities': 1}
    {'entity_text': [], 'label': 'neg', 'num_entities': 0}
    """
    sizes = {len(value) for value in outputs.values()}
    if len(sizes) != 1:
        raise ValueError(f"outputs disagree on the batch size: { {k: len(v) for k, v in outputs.items()} }")
    names = sorted(outputs)  # the same key order whichever way the model was served
    return [_cut_padding({name: _plain(outputs[name][i]) for name in names}) for i in range(sizes.pop())]


def _vector(name, values):
    head = ", ".join(f"{value:.4f}" for value in values[:3])
    return f"{name} [{len(values)} floats: {head}{', ...' if len(values) > 3 else ''}]"


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
    """One readable line for one example's outputs; tasks it does not recognize print `name=value` pairs.

    Example:
    >>> describe({"label": "positive", "label_id": 1, "probabilities": [0.25, 0.75]})
    'positive (0.750)'
    >>> describe({"answer": "", "answer_start": 0, "answer_end": 0, "score": 0.1, "has_answer": False})
    'no answer (score 0.100)'
    >>> describe({"entity_text": [], "entity_type": [], "entity_start": [], "entity_end": [], "entity_score": [],
    ...           "num_words": 126, "truncated": True})
    'no entities (input truncated: only its first 126 words were tagged)'
    """
    line = _describe(example)
    if example.get("truncated") is True:
        words = example.get("num_words")
        line += (f" (input truncated: only its first {words} words were tagged)" if isinstance(words, int)
                 else " (input truncated: the model read only its start)")
    return line


def _describe(example):
    if "entity_text" in example:  # token classification
        spans = ([f" {start}:{end}" for start, end in zip(example["entity_start"], example["entity_end"])]
                 if "entity_start" in example else [""] * len(example["entity_text"]))  # a .tflite has no offsets
        entities = [f"{text!r} {kind}{span} ({score:.2f})" for text, kind, span, score in zip(
            example["entity_text"], example["entity_type"], spans, example["entity_score"])]
        return "; ".join(entities) or "no entities"
    if "answer" in example and "answer_start" in example:  # span QA
        if not example.get("has_answer", example["answer"] != ""):
            return f"no answer (score {example['score']:.3f})"
        return (f"{example['answer']!r} at characters {example['answer_start']}:{example['answer_end']} "
                f"(score {example['score']:.3f})")
    if "probabilities" in example and "label_id" in example:  # classification, multiple choice
        chosen = example["label"] if "label" in example else repr(example.get("answer", example["label_id"]))
        return f"{chosen} ({example['probabilities'][example['label_id']]:.3f})"
    if set(example) == {"score"}:  # regression
        return f"score {example['score']:.4f}"
    vectors = [_vector(name, value) for name, value in example.items()
               if isinstance(value, list) and value and isinstance(value[0], float)]
    if vectors and len(vectors) == len(example):  # encoder embeddings
        return "; ".join(vectors)
    return "; ".join(f"{name}={value}" for name, value in example.items() if name != "truncated")
