"""SQuAD v1.1 / v2.0 exact match and F1, as the official v2.0 evaluation computes them.

Answers are compared after normalization (lowercase, ASCII punctuation removed, the
articles a/an/the removed, whitespace collapsed); a question scores the maximum over
its gold answers. Gold answers that normalize to "" are dropped, and a question with
none left (unanswerable) has the single gold answer "", matched by an empty prediction.
On v1.1 data this equals the v1.1 script except where a gold answer normalizes to ""
(v1.1 then gives F1 0 to an empty prediction, v2.0 gives 1).

>>> round(squad_f1("the Eiffel tower, Paris", ["Eiffel Tower"]), 4)
0.8
"""

import re
import string
from collections import Counter

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text):
    """Lowercases, drops punctuation and articles, collapses whitespace.

    >>> normalize_answer("  The  Beatles' 'A Hard Day's Night'! ")
    'beatles hard days night'
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _gold_texts(gold_answers):
    """The gold answers that survive normalization, or [""] when none does."""
    return [text for text in gold_answers if normalize_answer(text)] or [""]


def squad_exact(prediction, gold_answers):
    """1.0 if the normalized prediction equals a normalized gold answer, else 0.0.

    >>> squad_exact("an apple.", ["Apple", "pear"]), squad_exact("", [])
    (1.0, 1.0)
    """
    predicted = normalize_answer(prediction)
    return float(any(normalize_answer(gold) == predicted for gold in _gold_texts(gold_answers)))


def _token_f1(predicted, gold):
    """Bag-of-tokens F1; two empty token lists match (1.0), one empty list scores 0.0."""
    if not predicted or not gold:
        return float(predicted == gold)
    same = sum((Counter(predicted) & Counter(gold)).values())
    if not same:
        return 0.0
    precision, recall = same / len(predicted), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def squad_f1(prediction, gold_answers):
    """Token-overlap F1 of the normalized prediction, best over the gold answers.

    >>> squad_f1("red big car", ["big red bus", "a truck"])
    0.6666666666666666
    """
    predicted = normalize_answer(prediction).split()
    golds = _gold_texts(gold_answers)
    return max(_token_f1(predicted, normalize_answer(gold).split()) for gold in golds)


def _answer_texts(answers):
    """Answer strings from [{"text": ...}], ["..."] or {"text": [...]} (Hugging Face datasets)."""
    if isinstance(answers, dict):
        return list(answers["text"])
    return [answer if isinstance(answer, str) else answer["text"] for answer in answers]


def _questions(dataset_or_examples):
    """{id: [gold texts]} from SQuAD json, its "data" list, or flat {"id", "answers"} items."""
    items = dataset_or_examples
    if isinstance(items, dict):
        items = items["data"]
    questions = {}
    for item in items:
        if "paragraphs" in item:
            qas = [qa for paragraph in item["paragraphs"] for qa in paragraph["qas"]]
        else:
            qas = [item]
        questions.update((qa["id"], _answer_texts(qa["answers"])) for qa in qas)
    return questions


def _summary(exact, f1, qids):
    """Mean exact and F1 (in %) over `qids`, and their count."""
    return {
        "exact": 100.0 * sum(exact[q] for q in qids) / len(qids),
        "f1": 100.0 * sum(f1[q] for q in qids) / len(qids),
        "total": len(qids),
    }


def _best_threshold(predictions, scores, na_probs, has_answer):
    """Best score (in %) over null thresholds, and that threshold, as the official script.

    Questions are switched from "no answer" to their prediction in increasing na_prob
    order (ties in the order of `na_probs`); a switched unanswerable question loses its
    point when the raw prediction string is non-empty.
    """
    score = best = sum(not has_answer[q] for q in scores)
    best_thresh = 0.0
    for qid in sorted(na_probs, key=na_probs.get):
        if qid not in scores:
            continue
        score += scores[qid] if has_answer[qid] else -1 if predictions[qid] else 0
        if score > best:
            best, best_thresh = score, na_probs[qid]
    return 100.0 * best / len(scores), best_thresh


def squad_scores(dataset_or_examples, predictions, na_probs=None, na_prob_thresh=1.0):
    """Exact match and F1 (0-100) with the official v2.0 script's keys.

    `dataset_or_examples`: SQuAD json (dict with "data", or its list of articles) or
    examples with "id" and "answers" (no answers: unanswerable). `predictions`: {id: text};
    every question needs one ("" = no answer). `na_probs`: {id: null probability/odds};
    a question with na_prob > `na_prob_thresh` counts as answered "no answer". Keys:
    exact, f1, total; HasAns_* / NoAns_* when such questions exist; best_exact,
    best_exact_thresh, best_f1, best_f1_thresh when `na_probs` is given.

    >>> data = [{"id": "q1", "answers": ["Paris"]}, {"id": "q2", "answers": []}]
    >>> squad_scores(data, {"q1": "paris", "q2": "Lyon"})["exact"]
    50.0
    """
    gold = _questions(dataset_or_examples)
    if not gold:
        raise ValueError("no questions to score")
    missing = [qid for qid in gold if qid not in predictions]
    if missing:
        raise ValueError(f"no prediction for {len(missing)} questions, e.g. {missing[:3]}")
    probs = {qid: 0.0 for qid in gold} if na_probs is None else na_probs
    missing = [qid for qid in gold if qid not in probs]
    if missing:
        raise ValueError(f"no na_prob for {len(missing)} questions, e.g. {missing[:3]}")
    has_answer = {qid: bool(answers) for qid, answers in gold.items()}
    exact = {qid: squad_exact(predictions[qid], answers) for qid, answers in gold.items()}
    f1 = {qid: squad_f1(predictions[qid], answers) for qid, answers in gold.items()}

    # Above the threshold the prediction is replaced by "no answer".
    exact_t, f1_t = (
        {q: float(not has_answer[q]) if probs[q] > na_prob_thresh else s for q, s in scores.items()}
        for scores in (exact, f1)
    )
    result = _summary(exact_t, f1_t, list(gold))
    for prefix, wanted in (("HasAns", True), ("NoAns", False)):
        qids = [qid for qid in gold if has_answer[qid] == wanted]
        if qids:
            summary = _summary(exact_t, f1_t, qids)
            result.update({f"{prefix}_{key}": value for key, value in summary.items()})
    if na_probs is not None:
        for name, scores in (("best_exact", exact), ("best_f1", f1)):
            result[name], result[f"{name}_thresh"] = _best_threshold(
                predictions, scores, probs, has_answer
            )
    return result
