"""Entity-level NER scores against seqeval's default mode (hand cases, random tags, CoNLL-2003)."""

import doctest
import math
import random
import warnings
from pathlib import Path

import pytest
import seqeval.metrics
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities

from keras_bert_zoo.metrics import entities
from keras_bert_zoo.metrics.entities import classification_report, entity_scores, extract_entities

CONLL_SAMPLE = Path(__file__).parent / "data" / "conll2003" / "test_first300.txt"
TYPES = ("PER", "LOC", "ORG")
ALPHABETS = {
    "BIO": ["O"] + [f"{p}-{t}" for p in "BI" for t in TYPES],
    "IOB1": ["O"] + [f"{p}-{t}" for p in "BI" for t in TYPES],
    "IOBES": ["O"] + [f"{p}-{t}" for p in "BIES" for t in TYPES],
}


def _seqeval_entities(tags):
    """seqeval's spans with the end made exclusive."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [(t, start, end + 1) for t, start, end in get_entities(list(tags))]


def _seqeval_report(y_true, y_pred):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined-metric and nan-mean warnings
        return seqeval.metrics.classification_report(y_true, y_pred, output_dict=True)


def _assert_matches_seqeval(y_true, y_pred, scheme):
    scores = entity_scores(y_true, y_pred, scheme)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = {
            "precision": seqeval.metrics.precision_score(y_true, y_pred),
            "recall": seqeval.metrics.recall_score(y_true, y_pred),
            "f1": seqeval.metrics.f1_score(y_true, y_pred),
        }
    for key, value in expected.items():
        assert scores[key] == pytest.approx(value, abs=1e-9), key
    reference = _seqeval_report(y_true, y_pred)
    report = classification_report(y_true, y_pred, scheme)
    assert set(report) == set(reference)
    for name, row in reference.items():
        for key, value in row.items():
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(report[name][key]), (name, key)
            else:
                assert report[name][key] == pytest.approx(value, abs=1e-9), (name, key)
    for name, row in scores["per_type"].items():
        assert row["f1"] == report[name]["f1-score"]
        assert row["support"] == report[name]["support"]
    assert scores["support"] == report["micro avg"]["support"]


def test_doctests():
    assert doctest.testmod(entities).failed == 0


@pytest.mark.parametrize(
    "tags, expected",
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
        (["I-PER", "I-PER"], [("PER", 0, 2)]),  # I- without B- starts an entity
        (["O", "I-PER", "B-PER"], [("PER", 1, 2), ("PER", 2, 3)]),  # IOB1 boundary
        (["B-PER", "I-LOC", "I-LOC"], [("PER", 0, 1), ("LOC", 1, 3)]),  # I-X after B-Y
        (["B-PER", "B-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
        (["B-PER", "I-PER", "E-PER", "S-LOC"], [("PER", 0, 3), ("LOC", 3, 4)]),
        (["S-PER", "I-PER"], [("PER", 0, 1), ("PER", 1, 2)]),  # nothing continues S-
        (["B-PER", "E-PER", "E-PER"], [("PER", 0, 2), ("PER", 2, 3)]),  # nor E-
        (["E-PER", "I-PER", "O"], [("PER", 0, 1), ("PER", 1, 2)]),
        (["B-PER", "S-PER", "I-PER"], [("PER", 0, 1), ("PER", 1, 2), ("PER", 2, 3)]),
        (["B", "I", "O", "I"], [("_", 0, 2), ("_", 3, 4)]),  # untyped tags: type "_"
        (["B-PER", "I-"], [("PER", 0, 1), ("_", 1, 2)]),
        ([], []),
        (["O", "O"], []),
    ],
)
def test_hand_cases(tags, expected):
    scheme = "IOBES" if any(tag[:1] in "ES" for tag in tags) else "BIO"
    assert extract_entities(tags, scheme) == expected
    assert _seqeval_entities(tags) == expected


def test_scheme_checks_tag_alphabet():
    with pytest.raises(ValueError, match="not O or one of B, I"):
        extract_entities(["B-PER", "E-PER"], "BIO")
    with pytest.raises(ValueError):
        extract_entities(["O-PER"], "IOBES")
    with pytest.raises(ValueError):
        extract_entities(["BPER"], "IOB1")
    with pytest.raises(ValueError, match="unknown scheme"):
        extract_entities(["O"], "BILOU")
    assert extract_entities(["S-PER"], "iobes") == [("PER", 0, 1)]
    assert extract_entities(["B-PER"], "IOB2") == [("PER", 0, 1)]


def test_length_mismatch_raises():
    with pytest.raises(ValueError, match="sentences"):
        entity_scores([["O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="sentence 0"):
        entity_scores([["O", "O"]], [["O"]])


def test_hand_scores():
    y_true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    y_pred = [["B-PER", "I-PER", "O", "B-ORG"], ["I-ORG", "O"]]
    # Gold: PER(0,0-2) LOC(0,3-4) ORG(1,0-1); predicted: PER(0,0-2) ORG(0,3-4) ORG(1,0-1).
    # Correct: PER and ORG(1) -> precision 2/3, recall 2/3, f1 2/3.
    scores = entity_scores(y_true, y_pred)
    assert scores["precision"] == scores["recall"] == scores["f1"] == pytest.approx(2 / 3)
    assert scores["support"] == 3
    # ORG: 1 correct of 2 predicted, 1 gold -> p 1/2, r 1, f1 2/3. LOC: 0 of 0 predicted, 1 gold.
    assert scores["per_type"]["ORG"] == {
        "precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1
    }
    assert scores["per_type"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    _assert_matches_seqeval(y_true, y_pred, "BIO")


@pytest.mark.parametrize(
    "y_true, y_pred",
    [
        ([["O", "O"]], [["O", "O"]]),  # no entities anywhere: macro nan, rest 0
        ([["O", "O"]], [["B-LOC", "O"]]),  # predictions without gold
        ([["B-PER", "O"]], [["O", "O"]]),  # gold without predictions
        ([[]], [[]]),
    ],
)
def test_empty_cases_match_seqeval(y_true, y_pred):
    _assert_matches_seqeval(y_true, y_pred, "BIO")


def _random_corpus(rng, alphabet, sentences, max_len=12, p_outside=0.4):
    """Random, often ill-formed tag sequences; `p_outside` of tags are O."""
    def tag():
        return "O" if rng.random() < p_outside else rng.choice(alphabet[1:])

    return [[tag() for _ in range(rng.randint(0, max_len))] for _ in range(sentences)]


@pytest.mark.parametrize("scheme", sorted(ALPHABETS))
def test_random_sequences_decode_as_seqeval(scheme):
    rng = random.Random(f"decode-{scheme}")
    for tags in _random_corpus(rng, ALPHABETS[scheme], 3000, max_len=15):
        assert extract_entities(tags, scheme) == _seqeval_entities(tags), tags


@pytest.mark.parametrize("scheme", sorted(ALPHABETS))
def test_random_corpora_score_as_seqeval(scheme):
    rng = random.Random(f"score-{scheme}")
    for _ in range(60):
        y_true = _random_corpus(rng, ALPHABETS[scheme], 20, p_outside=0.6)
        # Predictions: gold with some tags replaced, so that many entities match.
        y_pred = [[rng.choice(ALPHABETS[scheme]) if rng.random() < 0.2 else t for t in s]
                  for s in y_true]
        _assert_matches_seqeval(y_true, y_pred, scheme)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(ALPHABETS["IOBES"] + ["B", "I", "E", "S"]), max_size=20))
def test_hypothesis_decode_as_seqeval(tags):
    assert extract_entities(tags, "IOBES") == _seqeval_entities(tags)


def _read_conll(path):
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            current.append(line.split()[1])
        elif current:
            sentences.append(current)
            current = []
    return sentences + ([current] if current else [])


def _to_iobes(tags):
    spans = extract_entities(tags, "BIO")
    out = ["O"] * len(tags)
    for t, start, end in spans:
        if end - start == 1:
            out[start] = f"S-{t}"
        else:
            out[start:end] = [f"B-{t}"] + [f"I-{t}"] * (end - start - 2) + [f"E-{t}"]
    return out


def _to_iob1(tags):
    spans = extract_entities(tags, "BIO")
    out = ["O"] * len(tags)
    previous_end = {}
    for t, start, end in spans:
        out[start:end] = [f"I-{t}"] * (end - start)
        if previous_end.get(t) == start:  # B- only separates adjacent entities of one type
            out[start] = f"B-{t}"
        previous_end[t] = end
    return out


@pytest.fixture(scope="module")
def conll_gold():
    sentences = _read_conll(CONLL_SAMPLE)
    assert len(sentences) == 300
    return sentences


def test_conll_gold_converts_losslessly(conll_gold):
    # 672 B- tags in the sample, so 672 gold entities (BIO gold is well formed).
    assert sum(len(extract_entities(s)) for s in conll_gold) == 672
    for scheme, convert in (("IOBES", _to_iobes), ("IOB1", _to_iob1)):
        converted = [convert(s) for s in conll_gold]
        assert [extract_entities(s, scheme) for s in converted] == [
            extract_entities(s) for s in conll_gold
        ]
        assert entity_scores(conll_gold, converted, scheme)["f1"] == 1.0


@pytest.mark.parametrize("scheme", ["BIO", "IOB1", "IOBES"])
@pytest.mark.parametrize("noise", [0.02, 0.1, 0.3])
def test_conll_perturbed_scores_as_seqeval(conll_gold, scheme, noise):
    convert = {"BIO": list, "IOB1": _to_iob1, "IOBES": _to_iobes}[scheme]
    y_true = [convert(s) for s in conll_gold]
    alphabet = ["O"] + [f"{p}-{t}" for p in ("BIES" if scheme == "IOBES" else "BI")
                        for t in ("PER", "LOC", "ORG", "MISC")]
    rng = random.Random(f"conll-{scheme}-{noise}")
    y_pred = [[rng.choice(alphabet) if rng.random() < noise else t for t in s] for s in y_true]
    _assert_matches_seqeval(y_true, y_pred, scheme)
    assert entity_scores(y_true, y_true, scheme)["f1"] == 1.0
