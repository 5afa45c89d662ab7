"""Entity-level precision / recall / F1 for BIO (IOB2), IOB1 and IOBES tag sequences.

Entities are decoded as seqeval's default (non-strict) mode does, one lenient decoder
for all three schemes: a token continues the open entity only if it is `I-` or `E-`
of the same type right after a `B-` or `I-`; any other non-`O` tag starts a new one
(so `I-` after `O`, or `I-X` after `B-Y`, starts an entity). `scheme` only checks the
tag alphabet: BIO/IOB2/IOB1 allow `B-`, `I-`, `O`; IOBES also `E-`, `S-`. A tag without
a type (`B`) gets type `_`, as in seqeval. Scores match `seqeval.metrics` defaults.

>>> entity_scores([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "B-LOC"]])["precision"]
0.5
"""

from collections import Counter

_PREFIXES = {"BIO": "BI", "IOB2": "BI", "IOB1": "BI", "IOBES": "BIES"}


def _parse(tag, prefixes):
    """(prefix, type) of one tag; ("O", None) for outside."""
    if tag == "O":
        return "O", None
    prefix, rest = tag[:1], tag[1:]
    if not prefix or prefix not in prefixes or rest[:1] not in ("", "-"):
        raise ValueError(f"tag {tag!r} is not O or one of {', '.join(prefixes)} plus -TYPE")
    return prefix, rest[1:] or "_"


def _prefixes(scheme):
    if scheme.upper() not in _PREFIXES:
        raise ValueError(f"unknown scheme {scheme!r}; expected one of {sorted(_PREFIXES)}")
    return _PREFIXES[scheme.upper()]


def extract_entities(tags, scheme="BIO"):
    """Entities of one tag sequence as (type, start, end) with `end` exclusive.

    (seqeval's `get_entities` reports the same spans with an inclusive end.)

    >>> extract_entities(["B-PER", "I-PER", "O", "I-LOC", "B-ORG", "I-LOC"])
    [('PER', 0, 2), ('LOC', 3, 4), ('ORG', 4, 5), ('LOC', 5, 6)]
    """
    prefixes = _prefixes(scheme)
    entities, open_type, start, previous = [], None, 0, "O"
    for i, tag in enumerate(tags):
        prefix, type_ = _parse(tag, prefixes)
        if not (prefix in "IE" and previous in "BI" and type_ == open_type):
            if open_type is not None:
                entities.append((open_type, start, i))
            open_type, start = type_, i
        previous = prefix
    if open_type is not None:
        entities.append((open_type, start, len(tags)))
    return entities


def _type_counts(y_true, y_pred, scheme):
    """{type: (correct, predicted, support)} over all sentences, types sorted."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} gold sentences but {len(y_pred)} predicted")
    gold, predicted = set(), set()
    for i, (tags, pred_tags) in enumerate(zip(y_true, y_pred)):
        if len(tags) != len(pred_tags):
            raise ValueError(f"sentence {i}: {len(tags)} gold tags, {len(pred_tags)} predicted")
        gold.update((i, *entity) for entity in extract_entities(tags, scheme))
        predicted.update((i, *entity) for entity in extract_entities(pred_tags, scheme))
    correct, n_pred, n_gold = (
        Counter(entity[1] for entity in found) for found in (gold & predicted, predicted, gold)
    )
    return {t: (correct[t], n_pred[t], n_gold[t]) for t in sorted(n_pred | n_gold)}


def _prf(correct, predicted, support):
    """(precision, recall, f1), each 0.0 where its denominator is zero."""
    precision = correct / predicted if predicted else 0.0
    recall = correct / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _totals(counts):
    """(correct, predicted, support) summed over types."""
    return tuple(sum(c[k] for c in counts.values()) for k in range(3))


def _scores(correct, predicted, support, f1_name="f1"):
    """{"precision", "recall", f1_name, "support"} for one set of counts."""
    return {**dict(zip(("precision", "recall", f1_name), _prf(correct, predicted, support))),
            "support": support}


def entity_scores(y_true, y_pred, scheme="BIO"):
    """Micro precision/recall/f1 and support (gold entities), plus the same per type.

    `y_true`, `y_pred`: lists of sentences, each a list of tags.

    >>> s = entity_scores([["B-PER", "O", "B-LOC"]], [["B-PER", "O", "O"]])
    >>> s["recall"], s["per_type"]["LOC"]["f1"]
    (0.5, 0.0)
    """
    counts = _type_counts(y_true, y_pred, scheme)
    return {**_scores(*_totals(counts)),
            "per_type": {t: _scores(*c) for t, c in counts.items()}}


def classification_report(y_true, y_pred, scheme="BIO"):
    """Per-type scores and micro/macro/weighted averages, keyed as seqeval's report dict.

    Equals `seqeval.metrics.classification_report(..., output_dict=True)`: macro averages
    are nan when there are no entities at all, weighted ones 0.0 when there is no gold.

    >>> r = classification_report([["B-PER", "B-LOC"]], [["B-PER", "O"]])
    >>> r["PER"]["f1-score"], r["macro avg"]["recall"], r["micro avg"]["support"]
    (1.0, 0.5, 2)
    """
    counts = _type_counts(y_true, y_pred, scheme)
    report = {t: _scores(*c, f1_name="f1-score") for t, c in counts.items()}
    total = _totals(counts)[2]
    names = ("precision", "recall", "f1-score")
    macro = {k: sum(report[t][k] for t in counts) / len(counts) if counts else float("nan")
             for k in names}
    weighted = {k: sum(report[t][k] * c[2] for t, c in counts.items()) / total if total else 0.0
                for k in names}
    report["micro avg"] = _scores(*_totals(counts), f1_name="f1-score")
    report["macro avg"] = {**macro, "support": total}
    report["weighted avg"] = {**weighted, "support": total}
    return report
