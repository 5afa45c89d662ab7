"""CoNLL reader and NER pipeline: alignment against Hugging Face word_ids(), truncation, round trip."""

import warnings
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from helpers import tiny_vocabulary

from keras_bert_zoo import metrics, presets
from keras_bert_zoo.data import (
    IGNORE_LABEL,
    TaggedSentences,
    ner_dataset,
    ner_features,
    ner_label_names,
    ner_word_ids,
    predictions_to_word_tags,
    read_conll,
)
from keras_bert_zoo.text import BertPreprocessor, BertTokenizer

CONLL_SAMPLE = Path(__file__).parent / "data" / "conll2003" / "test_first300.txt"


@pytest.fixture(scope="module")
def tokenizers():
    """preset name -> (ours, Hugging Face's BertTokenizerFast) on its vocabulary and casing."""
    from transformers import BertTokenizerFast

    cache = {}

    def get(name):
        if name not in cache:
            vocab, lowercase = str(presets.vocabulary_file(name)), presets.get(name).lowercase
            cache[name] = BertTokenizer(vocab, lowercase), BertTokenizerFast(vocab=vocab, do_lower_case=lowercase)
        return cache[name]

    return get


@pytest.fixture(scope="module")
def conll():
    return read_conll(CONLL_SAMPLE)


def _hf_alignment(hf, words):
    """HF run_ner style, untruncated: per sentence, (input_ids, word_ids with -1, first-piece mask)."""
    encoded = hf(words, is_split_into_words=True)
    rows = []
    for i, ids in enumerate(encoded["input_ids"]):
        word_ids = [-1 if w is None else w for w in encoded.word_ids(i)]
        first = [w >= 0 and (j == 0 or word_ids[j - 1] != w) for j, w in enumerate(word_ids)]
        rows.append((ids, word_ids, first))
    return rows


def test_reader_detects_the_tag_column_and_skips_docstart(tmp_path):
    (tmp_path / "four.txt").write_text(
        "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\nPeter NNP B-NP B-PER\n"
    )
    data = read_conll(tmp_path / "four.txt")
    assert data.words == [["EU", "rejects"], ["Peter"]]
    assert data.tags == [["B-ORG", "O"], ["B-PER"]]
    assert read_conll(tmp_path / "four.txt", tag_column=2).tags == [["B-NP", "B-VP"], ["B-NP"]]
    (tmp_path / "two.txt").write_text("Peter B-PER\nBlackburn I-PER\n")
    assert read_conll(tmp_path / "two.txt").tags == [["B-PER", "I-PER"]]


def test_reader_on_the_shipped_files_format(conll):
    assert len(conll.words) == 300 and all(len(w) == len(t) for w, t in zip(conll.words, conll.tags))
    assert conll.words[1] == ["Nadim", "Ladki"] and conll.tags[1] == ["B-PER", "I-PER"]
    assert ner_label_names(conll.tags) == [
        "O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"
    ]


def test_reader_errors_name_the_line(tmp_path):
    (tmp_path / "bad.txt").write_text("EU B-ORG\nrejects O extra\n")
    with pytest.raises(ValueError, match=r"bad.txt:2 has 3 fields"):
        read_conll(tmp_path / "bad.txt")
    (tmp_path / "pos.txt").write_text("EU NNP\n")
    with pytest.raises(ValueError, match="tag_column="):
        read_conll(tmp_path / "pos.txt")


def _batches(ds):
    """A finite dataset of (inputs, labels, weights) batches as numpy, concatenated."""
    parts = list(ds.as_numpy_iterator())
    inputs = {key: np.concatenate([p[0][key] for p in parts]) for key in parts[0][0]}
    return inputs, np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])


@pytest.fixture(
    scope="module",
    params=[("bert_tiny_uncased", 512), ("bert_tiny_uncased", 40), ("bert_base_multilingual_cased", 48)],
    ids=["uncased-512", "uncased-40", "cased-48"],
)
def pipeline(request, tokenizers, conll):
    """The sample's NER batches at a sequence length that fits all (512) or cuts some sentences."""
    name, length = request.param
    ours, hf = tokenizers(name)
    label_names = ner_label_names(conll.tags)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = ner_dataset(conll, BertPreprocessor(ours, sequence_length=length), 64, label_names=label_names)
    word_ids, cut_words = ner_word_ids(conll.words, BertPreprocessor(ours), length)
    return dict(
        ours=ours, hf=hf, length=length, label_names=label_names, batches=_batches(ds),
        word_ids=word_ids, cut_words=cut_words, warnings=[str(w.message) for w in caught],
    )


def test_labels_and_word_ids_match_hugging_face(conll, pipeline):
    """Against HF's untruncated word_ids(): the same tokens, labels on first pieces, whole words kept."""
    ours, hf = pipeline["ours"], pipeline["hf"]
    inputs, labels, weights = pipeline["batches"]
    word_ids, cut_words = pipeline["word_ids"], pipeline["cut_words"]
    label_names = pipeline["label_names"]
    budget = pipeline["length"] - 2
    assert cut_words.any() == (pipeline["length"] < 512)
    message = (
        f"{cut_words.sum()} words in {np.count_nonzero(cut_words)} of 300 sentences do not fit in "
        f"sequence_length={pipeline['length']}: they get no label and no prediction."
    )
    assert pipeline["warnings"] == ([message] if cut_words.any() else [])
    for i, (ids, hf_word_ids, first) in enumerate(_hf_alignment(hf, conll.words)):
        content = list(zip(ids, hf_word_ids, first))[1:-1]
        ends = {word: position + 1 for position, (_, word, _) in enumerate(content)}
        kept = [t for t in content if ends[t[1]] <= budget]
        assert cut_words[i] == len(ends) - len({t[1] for t in kept}), i
        tag_ids = [label_names.index(tag) for tag in conll.tags[i]]
        expected_ids = [ours.cls_id] + [t[0] for t in kept] + [ours.sep_id]
        expected_words = [-1] + [t[1] for t in kept] + [-1]
        expected_labels = [IGNORE_LABEL] + [tag_ids[t[1]] if t[2] else IGNORE_LABEL for t in kept]
        n = len(expected_ids)
        assert inputs["token_ids"][i, :n].tolist() == expected_ids, i
        assert word_ids[i, :n].tolist() == expected_words, i
        assert labels[i, :n].tolist() == expected_labels + [IGNORE_LABEL], i
        assert inputs["padding_mask"][i].sum() == n
        assert (inputs["token_ids"][i, n:] == ours.pad_id).all()
        assert (word_ids[i, n:] == -1).all() and (labels[i, n:] == IGNORE_LABEL).all()
        assert (weights[i] == (labels[i] != IGNORE_LABEL)).all()


def test_gold_tags_round_trip_through_model_shaped_logits(conll, pipeline):
    _, labels, _ = pipeline["batches"]
    word_ids, label_names = pipeline["word_ids"], pipeline["label_names"]
    logits = np.eye(len(label_names))[np.where(labels == IGNORE_LABEL, 0, labels)]  # [300, seq, 9]
    predicted = predictions_to_word_tags(logits, word_ids, label_names, num_words=conll.words)
    kept = [set(row[row >= 0].tolist()) for row in word_ids]
    expected = [[t if j in kept[i] else "O" for j, t in enumerate(tags)] for i, tags in enumerate(conll.tags)]
    assert predicted == expected  # cut words get "O"
    if pipeline["length"] == 512:
        assert predicted == conll.tags
        assert metrics.entity_scores(conll.tags, predicted)["f1"] == 1.0


def test_a_first_word_longer_than_the_budget_keeps_its_first_pieces():
    tokenizer = BertTokenizer(tiny_vocabulary("a", "##a", "b"))
    words = tf.ragged.constant([["aaaaaa", "b"], ["b", "aaaa", "b"]])
    features = ner_features(words, BertPreprocessor(tokenizer), 5, tag_ids=tf.ragged.constant([[1, 2], [2, 1, 2]]))
    assert features["token_ids"].numpy().tolist() == [[2, 5, 6, 6, 3], [2, 7, 3, 0, 0]]
    assert features["word_ids"].numpy().tolist() == [[-1, 0, 0, 0, -1], [-1, 0, -1, -1, -1]]
    assert features["labels"].numpy().tolist() == [[-100, 1, -100, -100, -100], [-100, 2] + [-100] * 3]
    assert features["cut_words"].numpy().tolist() == [2, 2]  # "aaaaaa" lost pieces too


def test_words_without_pieces_and_empty_sentences():
    tokenizer = BertTokenizer(tiny_vocabulary("a"))
    words = tf.ragged.constant([["\u200b", "a"], []])  # a zero-width space tokenizes to nothing
    features = ner_features(words, BertPreprocessor(tokenizer), 4, tag_ids=tf.ragged.constant([[1, 2], []]))
    assert features["word_ids"].numpy().tolist() == [[-1, 1, -1, -1], [-1, -1, -1, -1]]
    assert features["labels"].numpy().tolist() == [[-100, 2, -100, -100], [-100] * 4]
    logits = np.eye(3)[[[0, 2, 0, 0], [0] * 4]]
    tags = predictions_to_word_tags(logits, features["word_ids"], ["O", "B-X", "I-X"], num_words=[2, 0])
    assert tags == [["O", "I-X"], []]  # the word without pieces gets "O"


def test_unlabelled_batches_are_inputs_only(tokenizers, conll):
    tokenizer, _ = tokenizers("bert_tiny_uncased")
    inputs = next(iter(ner_dataset(conll.words[:8], BertPreprocessor(tokenizer, sequence_length=64), batch_size=8)))
    assert sorted(inputs) == ["padding_mask", "segment_ids", "token_ids"]
    assert inputs["token_ids"].shape == (8, 64)


def test_the_keras_loss_convention_averages_over_labelled_tokens(pipeline):
    import keras

    labels, weights = (batch[:8] for batch in pipeline["batches"][1:])
    label_names = pipeline["label_names"]
    logits = np.random.default_rng(0).normal(size=(*labels.shape, len(label_names))).astype("float32")
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_LABEL)
    keep = labels != IGNORE_LABEL
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    manual = -np.take_along_axis(log_probs, np.where(keep, labels, 0)[..., None], -1)[..., 0][keep].mean()
    assert float(loss(labels, logits)) == pytest.approx(manual, rel=1e-5)
    assert (weights == keep).all()


def test_unknown_tags_are_an_error(tokenizers):
    with pytest.raises(ValueError, match=r"Tags \['B-FOO'\] are not in label_names"):
        ner_dataset(TaggedSentences([["x"]], [["B-FOO"]]),
                    BertPreprocessor(tokenizers("bert_tiny_uncased")[0], sequence_length=8), 1, label_names=["O"])


def test_ner_dataset_tokenizes_each_word_once(tokenizers, conll):
    tokenizer = tokenizers("bert_tiny_uncased")[0]
    words = tf.Variable(0, dtype=tf.int64)

    class Counting:  # counts the words the pipeline tokenizes, also inside tf.data
        def __getattr__(self, name):
            return getattr(tokenizer, name)

        def __call__(self, strings):
            words.assign_add(tf.size(strings, out_type=tf.int64))
            return tokenizer(strings)

    sentences = conll.words[:40]
    labels = ner_label_names(conll.tags)
    with pytest.warns(UserWarning, match="do not fit in sequence_length=16"):
        ds = ner_dataset(TaggedSentences(sentences, conll.tags[:40]), BertPreprocessor(Counting(), sequence_length=16),
                         8, label_names=labels, bucket_by_sequence_length=[8])
    for _ in range(2):  # two epochs
        for _ in ds:
            pass
    assert words.numpy() == sum(map(len, sentences))
