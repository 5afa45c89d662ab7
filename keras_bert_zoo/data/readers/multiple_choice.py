"""Multiple choice files (SWAG CSV, JSON lines for COPA, RACE, ...): contexts with candidate texts.

An example is a context and `num_choices` candidate texts. `BertMultipleChoice` scores every pair
`[CLS] context [SEP] choice [SEP]`, packed by the `BertPreprocessor` (truncated as it truncates
pairs), as Hugging Face's run_swag does.

Files:
* SWAG CSV (rowanz/swagaf `data/*.csv`, or Hugging Face `swag` "regular"): a header naming `sent1`,
  `sent2`, `ending0`, `ending1`, ... and `label` (other columns, like swagaf's unnamed index,
  `video-id`, `fold-ind`, `startphrase`, `gold-source`, are ignored; test files have no labels).
  Context: `sent1`; choice i: `sent2 + " " + ending<i>`, as run_swag builds them.
* JSON lines: one object a line, `{"context": ..., "question": ..., "choices": [...], "label": i}`.
  The context is `context` and `question` joined by a space (either may be left out);
  `label` is the index of the right choice.

Example:
>>> import json, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "copa.jsonl")
>>> line = {"context": "The glass fell.", "question": "What happened as a result?",
...         "choices": ["It broke.", "It sang."], "label": 0}
>>> _ = open(path, "w").write(json.dumps(line) + "\\n")
>>> examples = read_multiple_choice_jsonl(path)
>>> examples.contexts, examples.num_choices
(['The glass fell. What happened as a result?'], 2)
"""

import csv
import dataclasses
import json
import re

_ENDING = re.compile(r"^ending(\d+)$")


@dataclasses.dataclass
class MultipleChoiceExamples:
    """Contexts with their candidate texts and, when the file has them, the right choice's index."""

    contexts: list  # [example]
    choices: list  # [example][choice], the same number of choices in every example
    labels: list | None  # [example] int index into the example's choices; None: unlabelled

    @property
    def num_choices(self):
        return len(self.choices[0]) if self.choices else 0


def _checked(contexts, choices, labels, path, lines):
    """`MultipleChoiceExamples` after checking choice counts and label ranges (errors name the line)."""
    if not contexts:
        raise ValueError(f"{path} holds no examples.")
    num_choices = len(choices[0])
    for line, example_choices in zip(lines, choices):
        if len(example_choices) != num_choices:
            raise ValueError(f"{path}:{line} has {len(example_choices)} choices, the first example "
                             f"{num_choices}; every example needs the same number.")
    if num_choices < 2:
        raise ValueError(f"{path}: examples need at least 2 choices, got {num_choices}.")
    if labels is not None:
        for line, label in zip(lines, labels):
            if not 0 <= label < num_choices:
                raise ValueError(f"{path}:{line} has label {label}, not a choice index in 0..{num_choices - 1}.")
    return MultipleChoiceExamples(contexts, choices, labels)


def _labels(values, path, lines):
    """Integer labels, or None when every one is missing; an error when only some are."""
    missing = [line for line, value in zip(lines, values) if value is None]
    if len(missing) == len(values):
        return None
    if missing:
        raise ValueError(f"{path}:{missing[0]} has no label, but other examples do; label all or none.")
    return values


def read_swag_csv(path):
    """Reads a SWAG CSV into `MultipleChoiceExamples` (see the module docstring for the columns).

    Example:
    >>> examples = read_swag_csv("swagaf/data/val.csv")  # doctest: +SKIP
    >>> examples.num_choices  # doctest: +SKIP
    4
    """
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError(f"{path} is empty; expected a header row.")
    header = rows[0]
    endings = sorted((int(match.group(1)), i) for i, name in enumerate(header) if (match := _ENDING.match(name)))
    missing = [name for name in ("sent1", "sent2") if name not in header] + ([] if endings else ["ending0, ..."])
    if missing:
        raise ValueError(f"{path} is not SWAG CSV: it has no column {', '.join(missing)}; its header is {header}.")
    sent1, sent2 = header.index("sent1"), header.index("sent2")
    label = header.index("label") if "label" in header else None
    contexts, choices, labels, lines = [], [], [], []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}:{line} has {len(row)} fields, the header has {len(header)}.")
        contexts.append(row[sent1])
        choices.append([f"{row[sent2]} {row[i]}".strip() for _, i in endings])
        value = row[label].strip() if label is not None else ""
        if value and not value.lstrip("-").isdigit():
            raise ValueError(f"{path}:{line} has label {value!r}, not a choice index.")
        labels.append(int(value) if value else None)
        lines.append(line)
    return _checked(contexts, choices, _labels(labels, path, lines), path, lines)


def read_multiple_choice_jsonl(path):
    """Reads JSON lines `{"context", "question", "choices", "label"}` into `MultipleChoiceExamples`.

    Blank lines are skipped; see the module docstring for the fields.
    """
    contexts, choices, labels, lines = [], [], [], []
    with open(path, encoding="utf-8") as f:
        for line, text in enumerate(f, start=1):
            if not text.strip():
                continue
            try:
                example = json.loads(text)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{line} is not valid JSON: {error}") from None
            if not isinstance(example, dict):  # bad file content, like every other error here
                raise ValueError(f"{path}:{line} is not a JSON object.")  # noqa: TRY004
            parts = [example.get(key) for key in ("context", "question") if example.get(key) is not None]
            candidates = example.get("choices")
            if not parts or not all(isinstance(part, str) for part in parts):
                raise ValueError(f'{path}:{line} needs a string "context" or "question" (or both).')
            if not isinstance(candidates, list) or not all(isinstance(choice, str) for choice in candidates):
                raise ValueError(f'{path}:{line} needs "choices", a list of strings.')
            label = example.get("label")
            if label is not None and (isinstance(label, bool) or not isinstance(label, int)):
                raise ValueError(f'{path}:{line} has label {label!r}; "label" is the index of the right choice.')
            contexts.append(" ".join(parts))
            choices.append(candidates)
            labels.append(label)
            lines.append(line)
    return _checked(contexts, choices, _labels(labels, path, lines), path, lines)
