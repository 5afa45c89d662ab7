"""SavedModel export of BertSpanQA: the in-graph answer decoding equals kbz.data.decode_answers, and the
served model (TF1 session loader, as TF Serving) equals the Keras model on raw strings."""


import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import saved_model_cli_listing, tiny_vocabulary

import keras_bert_zoo as kbz
from keras_bert_zoo.data import SquadExamples, decode_answers, squad_features
from keras_bert_zoo.export.serving.span_qa import best_answers

WORDS = ["john", "works", "in", "paris", "since", "the", "war", "where", "does", "live", "who", "when", ".", ",", "?"]
VOCAB = tiny_vocabulary(*WORDS)
SEQUENCE_LENGTH, DOC_STRIDE, MAX_QUERY_LENGTH = 24, 4, 6  # 15 context pieces a window, 11 new ones
EXPORT_OPTIONS = {"doc_stride": DOC_STRIDE, "max_query_length": MAX_QUERY_LENGTH, "n_best": 5, "max_answer_length": 6}


def _contexts():
    """Contexts of 5 to 60 words, some with accents (characters != bytes) and unknown words."""
    rng = np.random.default_rng(1)
    pool = WORDS + ["Párís", "naïve", "Zürich", "x"]
    return [" ".join(rng.choice(pool, size=n)) for n in (60, 45, 30, 12, 5, 52)] + [""]


CONTEXTS = _contexts()
QUESTIONS = ["Where does John live?", "who", "", "When does the war?", "where works john since when ? ?",
             "Who works in Paris?", "who?"]


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    keras.utils.set_random_seed(0)
    encoder = kbz.BertEncoder(len(VOCAB), 2, 2, 16, 32, max_sequence_length=SEQUENCE_LENGTH)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB), sequence_length=SEQUENCE_LENGTH)
    model = kbz.BertSpanQA(encoder, **EXPORT_OPTIONS, preprocessor=preprocessor)
    kernel = model.get_layer("span_logits").kernel  # spread the logits: answers vary, null sometimes wins
    kernel.assign(np.random.default_rng(0).normal(size=kernel.shape).astype("float32"))
    path = kbz.export.saved_model(model, tmp_path_factory.mktemp("squad"),
                                  max_windows_per_context=2_000)  # the long context below has ~1,900
    with kbz.export.ServedModel(path) as served:
        yield model, preprocessor, path, served


def _features(preprocessor, questions, contexts):
    examples = SquadExamples([str(i) for i in range(len(contexts))], questions, contexts,
                             [[] for _ in contexts], [[] for _ in contexts])
    return squad_features(examples, preprocessor, SEQUENCE_LENGTH, DOC_STRIDE, MAX_QUERY_LENGTH)


def _keras_answers(model, features, **options):
    logits = model.predict(features.inputs, verbose=0)
    return decode_answers(logits["start_logits"], logits["end_logits"], features, **options)


def test_graph_decoder_equals_decode_answers_on_the_same_logits(qa):
    model, preprocessor, _, _ = qa
    features = _features(preprocessor, QUESTIONS, CONTEXTS)
    assert np.bincount(features.example_index).max() >= 4  # several windows per long context
    logits = model.predict(features.inputs, verbose=0)
    start, end = logits["start_logits"], logits["end_logits"]
    boost = np.where(features.window_index % 2 == 0, 4.0, 0.0).astype("float32")  # [CLS] wins in some windows
    cases = [
        (start, end, {}),
        (start, end, {"n_best": 2, "max_answer_length": 1, "null_score_diff_threshold": float("inf")}),
        (start + boost[:, None] * (np.arange(start.shape[1]) == 0), end, {"null_score_diff_threshold": 0.5}),
        (np.round(start), np.round(end), {"n_best": 3, "max_answer_length": 4}),  # many ties
    ]
    answered = []
    for case_start, case_end, case_options in cases:
        options = {"n_best": 20, "max_answer_length": 30, "null_score_diff_threshold": 0.0, **case_options}
        expected, expected_odds = decode_answers(case_start, case_end, features, **options)
        out = best_answers(tf.constant(CONTEXTS), case_start, case_end, features.offsets, features.example_index,
                           *options.values())
        answers = [answer.decode() for answer in out["answer"].numpy()]
        assert answers == [expected[qid] for qid in features.example_ids]
        np.testing.assert_allclose(out["null_odds"].numpy(), [expected_odds[qid] for qid in features.example_ids],
                                   rtol=1e-6)
        for context, answer, start_char, end_char in zip(CONTEXTS, answers, out["answer_start"].numpy(),
                                                         out["answer_end"].numpy()):
            assert context[start_char:end_char] == answer if answer else start_char == end_char == -1
        answered.append(out["has_answer"].numpy())
    assert not answered[0][-1] and np.isinf(expected_odds[features.example_ids[-1]])  # "" has no span
    assert any(a.any() and not a[:-1].all() for a in answered)  # the null answer both wins and loses


def test_served_answers_equal_keras_and_decode_answers(qa):
    model, preprocessor, _, served = qa
    out = served(question=QUESTIONS, context=CONTEXTS)
    features = _features(preprocessor, QUESTIONS, CONTEXTS)
    expected, odds = _keras_answers(model, features, n_best=5, max_answer_length=6)
    assert [answer.decode() for answer in out["answer"]] == [expected[qid] for qid in features.example_ids]
    assert out["has_answer"].tolist() == [bool(expected[qid]) for qid in features.example_ids]
    np.testing.assert_allclose(out["null_odds"], [odds[qid] for qid in features.example_ids], atol=1e-4)


def test_from_ids_returns_the_window_logits(qa):
    model, preprocessor, _, served = qa
    features = _features(preprocessor, QUESTIONS[:2], CONTEXTS[:2])
    out = served("from_ids", **features.inputs)
    expected = model.predict(features.inputs, verbose=0)
    for name in ("start_logits", "end_logits"):
        np.testing.assert_allclose(out[name], expected[name], atol=1e-4)


def test_odd_inputs_and_batch_sizes_get_answers(qa):
    model, preprocessor, _, served = qa
    long_context = "john works in paris since the war . " * 2800  # 100,800 characters, ~900 windows
    questions = ["where?", "", "   ", b"\xff\xfe who", "where does john live?"]
    contexts = ["   \t", "john works", "", b"john \xff\xfe works in Par\xc3\xads", long_context]
    out = served(question=questions, context=contexts)
    for context, answer, start, end in zip(contexts, out["answer"], out["answer_start"], out["answer_end"]):
        text = context.decode("utf-8", errors="replace") if isinstance(context, bytes) else context
        assert text[start:end] == answer.decode() if answer else start == end == -1
    assert not out["has_answer"][0] and np.isposinf(out["null_odds"][0]) and np.isneginf(out["score"][0])
    features = _features(preprocessor, [q.decode("utf-8", "replace") if isinstance(q, bytes) else q for q in questions],
                         [c.decode("utf-8", "replace") if isinstance(c, bytes) else c for c in contexts])
    expected, _ = _keras_answers(model, features, n_best=5, max_answer_length=6)
    assert [answer.decode() for answer in out["answer"]] == [expected[qid] for qid in features.example_ids]

    one = served(question=QUESTIONS[:1], context=CONTEXTS[:1])
    assert one["answer"].shape == (1,)
    many = served(question=QUESTIONS * 37, context=CONTEXTS * 37)  # 259
    assert many["answer"].shape == (259,)
    assert many["answer"][: len(CONTEXTS)].tolist() == served(question=QUESTIONS, context=CONTEXTS)["answer"].tolist()
    with pytest.raises(tf.errors.InvalidArgumentError, match="same batch size"):
        served(question=["a", "b"], context=["a"])


def test_saved_model_cli_lists_the_signatures(qa):
    names = ("question", "context", "answer", "answer_start", "answer_end", "score", "has_answer", "null_odds",
             "token_ids", "segment_ids", "padding_mask", "start_logits")
    saved_model_cli_listing(qa[2], names)


def test_bad_windows_are_refused_before_writing(qa, tmp_path):
    model, preprocessor, _, _ = qa
    with pytest.raises(ValueError, match="must exceed doc_stride=20"):
        kbz.export.saved_model(kbz.BertSpanQA(model.encoder, doc_stride=20, max_query_length=6,
                                              preprocessor=preprocessor), tmp_path)
    untruncated = kbz.BertPreprocessor(preprocessor.tokenizer, sequence_length=None)
    with pytest.raises(ValueError, match="fixed sequence_length"):
        kbz.export.saved_model(kbz.BertSpanQA(model.encoder, preprocessor=untruncated), tmp_path)
    with pytest.raises(ValueError, match="pair=True"):
        kbz.export.saved_model(model, tmp_path, pair=True)
    assert not any(tmp_path.iterdir())
