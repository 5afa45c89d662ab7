"""SavedModel export of BertTokenClassifier (NER): words split as BERT's pre-tokenizer splits them, tags and
entities equal to the Keras model + kbz.data / kbz.metrics decoding, served through the TF1 session loader."""


import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import saved_model_cli_listing, tiny_vocabulary
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

import keras_bert_zoo as kbz
from keras_bert_zoo.data import ner_features, predictions_to_word_tags
from keras_bert_zoo.export.serving.token_classifier import entity_spans
from keras_bert_zoo.metrics import extract_entities
from keras_bert_zoo.text.words import char_offsets, split_words, substrings

WORDS = ["john", "smith", "works", "for", "acme", "in", "new", "york", "paris", ".", ",", "un", "##able"]
VOCAB = tiny_vocabulary(*WORDS)
LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
SEQUENCE_LENGTH = 16
TEXTS = [
    "John Smith works for Acme in New York.",
    "unable, unable john... paris",
    "Párís  New\tYork\nJohn\u00a0Smith",
    "John works in Paris . " * 4,  # does not fit: truncated
    "",
]


def _bert_pre_tokenizer():
    """Hugging Face's BERT normalizer (no lowercasing) + pre-tokenizer; each word becomes one token."""
    reference = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    reference.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    reference.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return reference


def _reference_words(text):
    offsets = _bert_pre_tokenizer().encode(text, add_special_tokens=False).offsets
    return [text[start:end] for start, end in offsets], offsets


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    keras.utils.set_random_seed(0)
    encoder = kbz.BertEncoder(len(VOCAB), 2, 2, 16, 32, max_sequence_length=SEQUENCE_LENGTH)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB), sequence_length=SEQUENCE_LENGTH)
    model = kbz.BertTokenClassifier(encoder, num_classes=len(LABELS), label_names=LABELS, preprocessor=preprocessor)
    kernel = model.get_layer("logits").kernel  # spread the logits so that tags and entities vary
    kernel.assign(np.random.default_rng(0).normal(size=kernel.shape).astype("float32"))
    path = kbz.export.saved_model(model, tmp_path_factory.mktemp("conll"))
    with kbz.export.ServedModel(path) as served:
        yield model, preprocessor, path, served


def test_words_and_offsets_are_bert_pre_tokenizer_words():
    texts = [
        "«Bonjour» — dit‑il… $5.00 (approx.) a+b=c; x|y ~z `q` ^",
        "北京是中国 👍 ok \u3000y\u2028z tab\tnl\ncr\rend",
        "a\x00b a\x0bb e\u200bf Zürich \ufffd x",  # control characters inside words; U+FFFD reads as nothing
    ]
    strings = tf.constant(texts)
    words, begin, end = split_words(strings)
    cut = substrings(strings, begin.to_tensor(), end.to_tensor()).numpy()
    for text, row, row_cut, starts, ends in zip(texts, words.to_list(), cut, char_offsets(strings, begin).to_list(),
                                                char_offsets(strings, end).to_list()):
        seen = [(word.decode(), (start, stop)) for word, start, stop in zip(row_cut, starts, ends)
                if word != "\ufffd".encode()]  # dropped later: the tokenizer reads it as nothing
        expected, offsets = _reference_words(text)
        assert seen == list(zip(expected, offsets))
        assert [word.replace(b"\x01", b"\x00") for word in row] == list(row_cut[:len(row)])


def test_tags_and_entities_equal_keras_with_numpy_decoding(tagger):
    model, preprocessor, _, served = tagger
    out = served(text=TEXTS)
    words = [_reference_words(text)[0] for text in TEXTS]
    features = ner_features(tf.ragged.constant(words, tf.string), preprocessor, SEQUENCE_LENGTH)
    logits = model.predict({k: features[k] for k in ("token_ids", "segment_ids", "padding_mask")}, verbose=0)
    tags = predictions_to_word_tags(logits, features["word_ids"].numpy(), LABELS, words)
    probability = np.max(keras.ops.softmax(logits, axis=-1), axis=-1)
    assert out["num_words"].tolist() == [9, 8, 5, SEQUENCE_LENGTH - 2, 0]
    assert out["truncated"].tolist() == [False, False, False, True, False]
    assert sum(len(extract_entities(row)) for row in tags) >= 4
    for i, text in enumerate(TEXTS):
        count, offsets = out["num_words"][i], _reference_words(text)[1]
        assert [tag.decode() for tag in out["tags"][i][:count]] == tags[i][:count]
        assert set(tags[i][count:]) <= {"O"}  # words cut by truncation
        entities = extract_entities(tags[i][:count])
        assert out["num_entities"][i] == len(entities)
        first_pieces = np.flatnonzero(np.diff(features["word_ids"][i].numpy(), prepend=-1) > 0)
        for j, (kind, first, end) in enumerate(entities):
            start_char, end_char = offsets[first][0], offsets[end - 1][1]
            assert out["entity_type"][i][j].decode() == kind
            assert (out["entity_start"][i][j], out["entity_end"][i][j]) == (start_char, end_char)
            assert out["entity_text"][i][j].decode() == text[start_char:end_char]
            np.testing.assert_allclose(out["entity_score"][i][j], probability[i][first_pieces[first:end]].mean(),
                                       atol=1e-4)
        assert set(out["entity_type"][i][len(entities):]) <= {b""}
        assert set(out["entity_start"][i][len(entities):]) <= {-1}


def test_entity_decoding_equals_extract_entities():
    labels = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "B", "I"]
    rng = np.random.default_rng(0)
    rows = [rng.integers(0, len(labels), size=rng.integers(0, 12)).tolist() for _ in range(300)]
    scores = [rng.random(len(row)).tolist() for row in rows]
    spans = entity_spans(tf.ragged.constant(rows, tf.int32, ragged_rank=1, inner_shape=()),
                         tf.ragged.constant(scores, tf.float32), labels)
    spans = {name: values.to_list() for name, values in spans.items()}
    for i, row in enumerate(rows):
        expected = extract_entities([labels[t] for t in row], scheme="IOBES")
        got = [(kind.decode(), first, end) for kind, first, end in zip(spans["type"][i], spans["first_word"][i],
                                                                        spans["end_word"][i])]
        assert got == expected
        np.testing.assert_allclose(spans["score"][i], [np.mean(scores[i][a:b]) for _, a, b in expected], rtol=1e-6)
    assert sum(map(len, spans["type"])) > 300


def test_odd_inputs_and_batch_sizes(tagger):
    served = tagger[3]
    long_text = "John Smith works in Paris. " * 3704  # 100,008 characters
    odd = ["", " \t\n ", long_text, b"\xff\xfe abc John", "\x00\ufffd"]
    out = served(text=odd)
    assert out["num_words"].tolist() == [0, 0, SEQUENCE_LENGTH - 2, 2, 0]
    assert out["truncated"].tolist() == [False, False, True, False, False]
    assert [w.decode() for w in out["words"][3][:2]] == ["abc", "John"]
    # The text reads "\ufffd\ufffd abc John": offsets count each invalid byte as one character.
    assert (out["word_start"][3][:2].tolist(), out["word_end"][3][:2].tolist()) == ([3, 7], [6, 11])
    for row in range(len(odd)):
        count = out["num_entities"][row]
        text = odd[row].decode("utf-8", "replace") if isinstance(odd[row], bytes) else odd[row]
        for start, end, entity in zip(out["entity_start"][row][:count], out["entity_end"][row][:count],
                                      out["entity_text"][row][:count]):
            assert text[start:end] == entity.decode()

    one = served(text=TEXTS[:1])
    assert one["tags"].shape == (1, 9)
    many = served(text=TEXTS * 52)  # 260
    assert many["tags"].shape[0] == 260
    batch = served(text=TEXTS)
    for name in ("num_words", "num_entities", "truncated"):
        assert many[name][: len(TEXTS)].tolist() == batch[name].tolist()
    assert many["tags"][: len(TEXTS)].tolist() == batch["tags"].tolist()


def test_from_ids_tags_each_token(tagger):
    model, preprocessor, _, served = tagger
    inputs = {k: v.numpy() for k, v in preprocessor(tf.constant(TEXTS[:2])).items()}
    out = served("from_ids", **inputs)
    expected = keras.ops.softmax(model.predict(inputs, verbose=0), axis=-1)
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-4)
    np.testing.assert_array_equal(out["tag"], np.array(LABELS, object)[np.argmax(expected, -1)].astype(bytes))


def test_saved_model_cli_lists_the_signatures(tagger):
    names = ("text", "words", "tags", "word_start", "word_end", "num_words", "truncated", "entity_text",
             "entity_type", "entity_start", "entity_end", "entity_score", "num_entities", "token_ids", "tag")
    saved_model_cli_listing(tagger[2], names)


def test_label_names_are_checked_before_writing(tagger, tmp_path):
    model, preprocessor, _, _ = tagger
    for label_names, message in [(None, "needs label_names"), (LABELS[:3], "3 label names for 5 classes"),
                                 (["O", "B-PER", "I-PER", "X-LOC", "I-LOC"], "'X-LOC' is not O")]:
        unchecked = kbz.BertTokenClassifier(model.encoder, num_classes=len(LABELS), preprocessor=preprocessor)
        unchecked.label_names = label_names  # set after construction, which would check the count itself
        with pytest.raises(ValueError, match=message):
            kbz.export.saved_model(unchecked, tmp_path)
    assert not any(tmp_path.iterdir())
