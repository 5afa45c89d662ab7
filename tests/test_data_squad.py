"""SQuAD reader, windows against Hugging Face's run_qa preprocessing, and answer decoding."""

import json
from pathlib import Path

import numpy as np
import pytest

from keras_bert_zoo import metrics
from keras_bert_zoo.data import SquadFeatures, decode_answers, read_squad, squad_dataset, squad_features
from keras_bert_zoo.text import BertPreprocessor, BertTokenizer

SQUAD_SAMPLE = Path(__file__).parent / "data" / "squad" / "dev-v2.0-first5.json"
VOCAB = Path(__file__).parents[1] / "keras_bert_zoo" / "vocab" / "uncased.txt"
# (max_seq_length, doc_stride, max_query_length): the standard one, and one that makes many windows
# and cuts long questions.
SETTINGS = [(384, 128, 64), (128, 32, 24)]


@pytest.fixture(scope="module")
def data():
    return json.loads(SQUAD_SAMPLE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def examples(data):
    return read_squad(data)


@pytest.fixture(scope="module")
def tokenizer():
    return BertTokenizer(VOCAB, lowercase=True)


@pytest.fixture(scope="module")
def hf():
    from transformers import BertTokenizerFast

    return BertTokenizerFast(vocab=str(VOCAB), do_lower_case=True)


@pytest.fixture(scope="module")
def all_features(examples, tokenizer):
    return {settings: squad_features(examples, BertPreprocessor(tokenizer), *settings) for settings in SETTINGS}


@pytest.fixture(params=SETTINGS, ids=["384-128-64", "128-32-24"])
def features(request, all_features):
    return request.param, all_features[request.param]


def _hf_reference(hf, examples, max_seq_length, doc_stride, max_query_length):
    """Hugging Face run_qa's prepare_train_features, answers bounded to the window's context tokens.

    (run_qa can walk past the last context token when the answer starts on it; that edge is fixed.)
    Questions are cut to `max_query_length` pieces first, at the end of the last piece kept.
    Returns per window (example index, input_ids, context offsets by position, start, end).
    """
    spans = hf(examples.questions, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    questions = [q[:o[max_query_length - 1][1]] if len(o) > max_query_length else q
                 for q, o in zip(examples.questions, spans)]
    encoded = hf(
        questions, examples.contexts, truncation="only_second", max_length=max_seq_length,
        stride=doc_stride, return_overflowing_tokens=True, return_offsets_mapping=True,
    )
    windows = []
    for i, ids in enumerate(encoded["input_ids"]):
        example = encoded["overflow_to_sample_mapping"][i]
        offsets = encoded["offset_mapping"][i]
        context = [j for j, s in enumerate(encoded.sequence_ids(i)) if s == 1]
        start = end = 0
        if examples.answers[example]:
            start_char = examples.answer_starts[example][0]
            end_char = start_char + len(examples.answers[example][0])
            first, last = context[0], context[-1]
            if offsets[first][0] <= start_char and offsets[last][1] >= end_char:
                while first <= context[-1] and offsets[first][0] <= start_char:
                    first += 1
                while offsets[last][1] >= end_char:
                    last -= 1
                start, end = first - 1, last + 1
        windows.append((example, ids, {j: tuple(offsets[j]) for j in context}, start, end))
    return windows


def test_reader_reads_v2_and_v1(examples):
    assert len(examples.ids) == 1407 and sum(not a for a in examples.answers) == 702
    assert examples.questions[0] == "In what country is Normandy located?"
    assert examples.answers[0] == ["France"] * 4 and examples.answer_starts[0] == [159] * 4
    v1 = {"data": [{"paragraphs": [{"context": "ab", "qas": [
        {"id": "x", "question": "q", "answers": [{"text": "b", "answer_start": 1}]}]}]}]}
    assert read_squad(v1).answers == [["b"]]


def test_windows_and_positions_match_hugging_face(features, examples, hf):
    (max_seq_length, doc_stride, max_query_length), ours = features
    reference = _hf_reference(hf, examples, max_seq_length, doc_stride, max_query_length)
    question_lengths = [len(ids) - 2 for ids in hf(examples.questions)["input_ids"]]
    assert max(question_lengths) <= 64 and sum(n > 24 for n in question_lengths) >= 10
    assert len(reference) == len(ours.example_index)
    assert (ours.window_index > 0).sum() >= (1 if max_seq_length == 384 else 900)
    seen = {}
    for w, (example, ids, context_offsets, start, end) in enumerate(reference):
        assert ours.example_index[w] == example
        assert ours.window_index[w] == seen.setdefault(example, -1) + 1
        seen[example] += 1
        assert ours.inputs["token_ids"][w, :len(ids)].tolist() == ids, w
        assert ours.inputs["padding_mask"][w].sum() == len(ids)
        second = min(context_offsets)  # the context starts the second segment
        expected_segments = [0] * second + [1] * (len(ids) - second) + [0] * (max_seq_length - len(ids))
        assert ours.inputs["segment_ids"][w].tolist() == expected_segments
        our_offsets = {j: tuple(o) for j, o in enumerate(ours.offsets[w].tolist()) if o[0] >= 0}
        assert our_offsets == context_offsets, w
        assert (ours.offsets[w][[j for j in range(max_seq_length) if j not in context_offsets]] == -1).all()
        assert (ours.start_positions[w], ours.end_positions[w]) == (start, end), w


def test_gold_spans_decode_to_the_gold_answers(features, examples, data):
    (max_seq_length, _, _), ours = features
    rows = np.arange(len(ours.example_index))
    start_logits = np.zeros((len(rows), max_seq_length), np.float32)
    end_logits = np.zeros_like(start_logits)
    start_logits[rows, ours.start_positions] = 10.0
    end_logits[rows, ours.end_positions] = 10.0
    answers, null_odds = decode_answers(start_logits, end_logits, ours)
    fits = set(ours.example_index[ours.start_positions > 0].tolist())
    answerable = [i for i, a in enumerate(examples.answers) if a]
    assert len(fits) > 0.97 * len(answerable)
    for i in answerable:
        if i in fits:  # decoded from the first gold answer's tokens: it covers that answer
            assert examples.answers[i][0] in answers[examples.ids[i]], i
            assert metrics.squad_exact(answers[examples.ids[i]], examples.answers[i]) == 1.0, i
            assert null_odds[examples.ids[i]] == -20.0
    scores = metrics.squad_scores(data, answers, na_probs=null_odds)
    assert scores["NoAns_exact"] == 100.0
    assert scores["HasAns_exact"] == pytest.approx(100.0 * len(fits) / len(answerable))


def test_decoding_rules():
    """n_best per window, start <= end, max_answer_length, null threshold, best window wins."""
    offsets = np.full((2, 6, 2), -1)
    offsets[:, 2:5] = [[0, 3], [4, 7], [8, 11]]  # tokens 2..4 are the words of "abc def ghi"
    features = SquadFeatures(
        inputs={}, start_positions=None, end_positions=None, example_index=np.array([0, 0]),
        window_index=np.array([0, 1]), offsets=offsets, example_ids=["q"], contexts=["abc def ghi"],
    )
    start = np.array([[1.0, 0, 0, 0, 5, 9], [2.0, 0, 3, 0, 0, 0]])  # position 5 is not context
    end = np.array([[1.0, 0, 4, 0, 0, 9], [2.0, 0, 0, 0, 1, 0]])
    # Window 0's best is "ghi" (5 + 0; "ghi".."abc" ends before it starts), window 1's "abc def ghi"
    # (3 + 1); the null score is the lower of 1 + 1 and 2 + 2.
    answers, odds = decode_answers(start, end, features)
    assert answers == {"q": "ghi"} and odds == {"q": 2.0 - 5.0}
    assert decode_answers(start, end, features, null_score_diff_threshold=-3.5)[0] == {"q": ""}
    assert decode_answers(start, end, features, max_answer_length=0)[0] == {"q": ""}
    # With n_best=1, window 0 pairs only start "ghi" with end "abc": invalid, window 1 wins.
    answers, odds = decode_answers(start, end, features, n_best=1)
    assert answers == {"q": "abc def ghi"} and odds == {"q": 2.0 - 4.0}
    assert decode_answers(start, end, features, n_best=1, max_answer_length=2)[0] == {"q": ""}


def test_windows_need_more_room_than_the_stride(examples, tokenizer):
    with pytest.raises(ValueError, match="must exceed doc_stride=128"):
        squad_features(examples, BertPreprocessor(tokenizer), 192, 128, 64)


def test_training_batches_are_the_windows_shuffled(examples, tokenizer, all_features):
    ours = all_features[SETTINGS[1]]
    subset = type(examples)(*(column[:100] for column in vars(examples).values()))
    length, stride, query = SETTINGS[1]
    ds = squad_dataset(subset, BertPreprocessor(tokenizer, sequence_length=length), 16, doc_stride=stride,
                       max_query_length=query, shuffle=True, seed=1)
    batches = list(ds.as_numpy_iterator())
    inputs, targets = batches[0]
    assert sorted(inputs) == ["padding_mask", "segment_ids", "token_ids"]
    assert sorted(targets) == ["end_logits", "start_logits"] and inputs["token_ids"].shape == (16, 128)
    pairs = [(s, e) for _, t in batches for s, e in zip(t["start_logits"], t["end_logits"])]
    in_order = ours.example_index < 100
    expected = list(zip(ours.start_positions[in_order], ours.end_positions[in_order]))
    assert sorted(pairs) == sorted(expected) and pairs != expected
