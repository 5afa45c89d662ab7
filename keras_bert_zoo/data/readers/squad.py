"""SQuAD v1.1 / v2.0 JSON files: questions with their contexts and gold answers."""

import dataclasses
import json


@dataclasses.dataclass
class SquadExamples:
    """Questions with their contexts and gold answers (no answers: unanswerable)."""

    ids: list
    questions: list
    contexts: list
    answers: list  # [example][answer] texts
    answer_starts: list  # [example][answer] character offsets into the context


def read_squad(path_or_data):
    """Reads SQuAD v1.1 or v2.0 JSON (a path, or the loaded dict) into `SquadExamples`.

    v2.0 unanswerable questions (`is_impossible`) get no answers.

    >>> data = {"data": [{"paragraphs": [{"context": "Paris is in France.", "qas": [
    ...     {"id": "q1", "question": "Where?", "answers": [{"text": "France", "answer_start": 12}]}]}]}]}
    >>> read_squad(data).answers
    [['France']]
    """
    data = path_or_data
    if not isinstance(data, dict):
        with open(path_or_data, encoding="utf-8") as f:
            data = json.load(f)
    examples = SquadExamples([], [], [], [], [])
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = [] if qa.get("is_impossible") else qa["answers"]
                examples.ids.append(qa["id"])
                examples.questions.append(qa["question"])
                examples.contexts.append(paragraph["context"])
                examples.answers.append([answer["text"] for answer in answers])
                examples.answer_starts.append([answer["answer_start"] for answer in answers])
    return examples
