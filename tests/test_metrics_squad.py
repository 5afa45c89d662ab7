"""SQuAD EM/F1 on hand-made cases; every expected value is derived in the comments."""

import doctest

import pytest

from keras_bert_zoo.metrics import squad
from keras_bert_zoo.metrics.squad import normalize_answer, squad_exact, squad_f1, squad_scores

TOL = 1e-9


def test_doctests():
    assert doctest.testmod(squad).failed == 0


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The Quick, Brown Fox!", "quick brown fox"),
        ("  a  b\tc\n", "b c"),  # "a" is an article; whitespace collapses
        ("Anthem of the Seas", "anthem of seas"),  # articles only as whole words
        ("theater", "theater"),
        ("a-n apple", "apple"),  # punctuation goes first: "a-n" -> "an", then an article
        ("U.S.A.", "usa"),
        ("“quoted”", "“quoted”"),  # only ASCII punctuation is removed
        ("The", ""),
        ("", ""),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_exact_and_f1_single_questions():
    # Punctuation, case and articles do not matter for exact match.
    assert squad_exact("Denver Broncos!", ["the Denver Broncos"]) == 1.0
    assert squad_exact("Denver", ["Denver Broncos"]) == 0.0
    # pred tokens [cat, sat]; gold "a cat" -> [cat]: 1 shared, p = 1/2, r = 1, f1 = 2/3;
    # gold "dog sat on mat": 1 shared, p = 1/2, r = 1/4, f1 = 2 * 1/8 / (3/4) = 1/3. Max 2/3.
    assert squad_f1("the cat sat", ["a cat", "dog sat on mat"]) == pytest.approx(2 / 3, abs=TOL)
    assert squad_exact("the cat sat", ["a cat", "dog sat on mat"]) == 0.0
    # Shared tokens count with multiplicity: [new, york, new, york] vs [new, york] share 2,
    # p = 2/4, r = 2/2, f1 = 2 * 1/2 / (3/2) = 2/3.
    assert squad_f1("New York New York", ["New York"]) == pytest.approx(2 / 3, abs=TOL)
    # [levis, stadium, in, santa, clara] vs [santa, clara, california]: 2 shared,
    # p = 2/5, r = 2/3, f1 = 2 * 4/15 / (16/15) = 1/2.
    assert squad_f1("Levi's Stadium in Santa Clara", ["Santa Clara, California"]) == pytest.approx(
        0.5, abs=TOL
    )
    assert squad_f1("nothing shared", ["other words"]) == 0.0


def test_empty_answers():
    # No gold answers: the gold is "", matched only by a prediction normalizing to "".
    assert squad_exact("", []) == squad_f1("", []) == 1.0
    assert squad_exact("The.", []) == squad_f1("The.", []) == 1.0
    assert squad_exact("1998", []) == squad_f1("1998", []) == 0.0
    # An empty prediction for an answerable question scores 0.
    assert squad_exact("", ["gold"]) == squad_f1("", ["gold"]) == 0.0
    # Gold answers that normalize to "" are dropped; none left -> gold "".
    assert squad_f1("", ["The", "."]) == 1.0
    assert squad_f1("the", ["a", "cat"]) == 0.0  # "a" dropped; "" vs [cat] -> 0


# Five questions in SQuAD json form, two articles.
#   q1 gold [Denver Broncos, the Denver Broncos], pred "Denver Broncos!"  exact 1, f1 1
#   q2 gold [Santa Clara, California], pred "Levi's Stadium in Santa Clara"  exact 0, f1 1/2
#   q3 unanswerable, pred ""      exact 1, f1 1
#   q4 unanswerable, pred "1998"  exact 0, f1 0
#   q5 gold [gold], pred ""       exact 0, f1 0
DATASET = {
    "version": "v2.0",
    "data": [
        {
            "title": "Super_Bowl_50",
            "paragraphs": [
                {
                    "context": "...",
                    "qas": [
                        {
                            "id": "q1",
                            "answers": [
                                {"text": "Denver Broncos", "answer_start": 0},
                                {"text": "the Denver Broncos", "answer_start": 0},
                            ],
                        },
                        {
                            "id": "q2",
                            "answers": [{"text": "Santa Clara, California", "answer_start": 0}],
                        },
                    ],
                },
                {"context": "...", "qas": [{"id": "q3", "answers": [], "is_impossible": True}]},
            ],
        },
        {
            "title": "Other",
            "paragraphs": [
                {
                    "context": "...",
                    "qas": [
                        {"id": "q4", "answers": [], "is_impossible": True},
                        {"id": "q5", "answers": [{"text": "gold", "answer_start": 0}]},
                    ],
                }
            ],
        },
    ],
}
PREDICTIONS = {
    "q1": "Denver Broncos!",
    "q2": "Levi's Stadium in Santa Clara",
    "q3": "",
    "q4": "1998",
    "q5": "",
    "not_in_dataset": "ignored",
}
NA_PROBS = {"q1": 0.1, "q2": 0.6, "q3": 0.9, "q4": 0.7, "q5": 0.3}


def _assert_scores(actual, expected):
    assert list(actual) == list(expected)
    for key, value in expected.items():
        assert actual[key] == pytest.approx(value, abs=TOL), key


def test_scores_without_null_probabilities():
    # exact [1, 0, 1, 0, 0] -> 2/5 = 40%; f1 [1, 1/2, 1, 0, 0] -> 2.5/5 = 50%.
    # HasAns q1 q2 q5: exact 1/3, f1 1.5/3 = 1/2. NoAns q3 q4: exact 1/2, f1 1/2.
    expected = {
        "exact": 40.0, "f1": 50.0, "total": 5,
        "HasAns_exact": 100 / 3, "HasAns_f1": 50.0, "HasAns_total": 3,
        "NoAns_exact": 50.0, "NoAns_f1": 50.0, "NoAns_total": 2,
    }
    _assert_scores(squad_scores(DATASET, PREDICTIONS), expected)


def test_scores_with_threshold_and_best_threshold_search():
    # na_prob > 0.5 means "no answer": q2 (0.6) -> has an answer, so 0; q3 (0.9), q4 (0.7)
    # -> unanswerable, so 1. q1 (0.1) and q5 (0.3) keep their scores 1 and 0.
    # exact = f1 = [1, 0, 1, 1, 0] -> 60%; HasAns [1, 0, 0] -> 1/3; NoAns [1, 1] -> 100%.
    #
    # Threshold search (on raw scores) starts from "all no answer": the 2 unanswerable are
    # right, score 2. Questions are switched to their prediction by increasing na_prob:
    #   exact: q1 +1 -> 3 (best, thresh 0.1); q5 +0 -> 3; q2 +0 -> 3;
    #          q4 (unanswerable, pred "1998") -1 -> 2; q3 (pred "") +0 -> 2.
    #          best_exact = 3/5 = 60% at 0.1.
    #   f1:    q1 +1 -> 3 (0.1); q5 +0 -> 3; q2 +1/2 -> 3.5 (best, 0.6); q4 -1 -> 2.5; q3 -> 2.5.
    #          best_f1 = 3.5/5 = 70% at 0.6.
    expected = {
        "exact": 60.0, "f1": 60.0, "total": 5,
        "HasAns_exact": 100 / 3, "HasAns_f1": 100 / 3, "HasAns_total": 3,
        "NoAns_exact": 100.0, "NoAns_f1": 100.0, "NoAns_total": 2,
        "best_exact": 60.0, "best_exact_thresh": 0.1,
        "best_f1": 70.0, "best_f1_thresh": 0.6,
    }
    _assert_scores(squad_scores(DATASET, PREDICTIONS, NA_PROBS, na_prob_thresh=0.5), expected)


def test_default_threshold_keeps_predictions():
    # na_prob_thresh 1.0: no na_prob exceeds it, so exact/f1 are the raw 40% / 50%;
    # the best-threshold entries are the same as above.
    scores = squad_scores(DATASET, PREDICTIONS, NA_PROBS)
    assert scores["exact"] == pytest.approx(40.0, abs=TOL)
    assert scores["f1"] == pytest.approx(50.0, abs=TOL)
    assert scores["best_f1"] == pytest.approx(70.0, abs=TOL)
    assert scores["best_f1_thresh"] == 0.6


def test_input_formats_agree():
    expected = squad_scores(DATASET, PREDICTIONS, NA_PROBS, 0.5)
    articles = DATASET["data"]
    flat = [qa for article in articles for p in article["paragraphs"] for qa in p["qas"]]
    strings = [{"id": qa["id"], "answers": [a["text"] for a in qa["answers"]]} for qa in flat]
    hf = [{"id": qa["id"], "answers": {"text": [a["text"] for a in qa["answers"]],
                                       "answer_start": [a["answer_start"] for a in qa["answers"]]}}
          for qa in flat]
    for examples in (articles, flat, strings, hf):
        assert squad_scores(examples, PREDICTIONS, NA_PROBS, 0.5) == expected


def test_all_answerable_v1_data_has_no_noans_keys():
    # v1.1-style: every question answerable. exact [1, 0] -> 50%; f1 [1, 1/2] -> 75%.
    examples = [{"id": "a", "answers": ["Paris", "in Paris"]}, {"id": "b", "answers": ["two cats"]}]
    scores = squad_scores(examples, {"a": "Paris.", "b": "the two dogs"})
    # b: [two, dogs] vs [two, cats] share 1: p = r = 1/2, f1 = 1/2.
    _assert_scores(scores, {"exact": 50.0, "f1": 75.0, "total": 2,
                            "HasAns_exact": 50.0, "HasAns_f1": 75.0, "HasAns_total": 2})


def test_answers_normalizing_to_empty_count_as_answerable():
    # As the official script: has-answer means a non-empty answers list, even when every
    # answer normalizes to "" (gold then ""), so the empty prediction is right.
    scores = squad_scores([{"id": "q", "answers": ["The", "."]}], {"q": ""})
    _assert_scores(scores, {"exact": 100.0, "f1": 100.0, "total": 1,
                            "HasAns_exact": 100.0, "HasAns_f1": 100.0, "HasAns_total": 1})


def test_threshold_search_ties_follow_na_probs_order():
    # Both at na_prob 0.5: "a" answerable and right, "b" unanswerable with a wrong answer.
    # Start score 1 ("b" right as no answer). Order (b, a): b -1 -> 0, a +1 -> 1, never above 1:
    # best 1/2 = 50% at the initial 0.0. Order (a, b): a +1 -> 2 (best, 0.5), b -1 -> 1:
    # 2/2 = 100% at 0.5 — the official script's sequential count inside a tie.
    examples = [{"id": "a", "answers": ["yes"]}, {"id": "b", "answers": []}]
    predictions = {"a": "yes", "b": "no"}
    scores = squad_scores(examples, predictions, {"b": 0.5, "a": 0.5})
    assert (scores["best_exact"], scores["best_exact_thresh"]) == (50.0, 0.0)
    scores = squad_scores(examples, predictions, {"a": 0.5, "b": 0.5})
    assert (scores["best_exact"], scores["best_exact_thresh"]) == (100.0, 0.5)


def test_threshold_search_uses_raw_prediction_strings():
    # Unanswerable "q" predicted " ": raw exact 1 (normalizes to ""), but the search, as the
    # official one, counts a non-empty string as an answer: start 1, q -1 -> 0; best 100% at 0.
    scores = squad_scores([{"id": "q", "answers": []}], {"q": " "}, {"q": 0.2})
    assert scores["exact"] == 100.0
    assert (scores["best_exact"], scores["best_exact_thresh"]) == (100.0, 0.0)
    scores = squad_scores([{"id": "q", "answers": []}], {"q": "x"}, {"q": 0.2}, 0.1)
    # na_prob 0.2 > 0.1: counted as "no answer", right.
    assert scores["exact"] == 100.0 and scores["NoAns_total"] == 1


def test_missing_predictions_or_probabilities_raise():
    with pytest.raises(ValueError, match="no prediction for 1 questions"):
        squad_scores(DATASET, {k: v for k, v in PREDICTIONS.items() if k != "q3"})
    with pytest.raises(ValueError, match="no na_prob"):
        squad_scores(DATASET, PREDICTIONS, {"q1": 0.0})
    with pytest.raises(ValueError, match="no questions"):
        squad_scores([], {})
