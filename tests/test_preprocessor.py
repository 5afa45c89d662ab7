"""BertPreprocessor: encoder-ready outputs equal to Hugging Face's, serialization, tf.data,
tf.function and SavedModel."""

import functools
import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bert_zoo as kbz
from keras_bert_zoo.text import BertPreprocessor, BertTokenizer

DATA = Path(__file__).parent / "data"
VOCAB = Path(__file__).parents[1] / "keras_bert_zoo" / "vocab" / "uncased.txt"
KEYS = ("token_ids", "segment_ids", "padding_mask")


@functools.cache
def tokenizer():
    return BertTokenizer(VOCAB, lowercase=True)


@functools.cache
def hf():
    from transformers import BertTokenizerFast

    return BertTokenizerFast(vocab=str(VOCAB), do_lower_case=True)


@functools.cache
def squad_pairs():
    data = json.loads((DATA / "squad/dev-v2.0-first5.json").read_text())["data"]
    pairs = [(q["question"], p["context"]) for a in data for p in a["paragraphs"] for q in p["qas"]]
    return [q for q, _ in pairs], [c for _, c in pairs]


def sst2():
    lines = (DATA / "sst2/dev.tsv").read_text().splitlines()[1:]
    return [line.split("\t")[0] for line in lines]


def assert_matches_hf(outputs, reference):
    assert outputs["token_ids"].numpy().tolist() == reference["input_ids"]
    assert outputs["segment_ids"].numpy().tolist() == reference["token_type_ids"]
    assert outputs["padding_mask"].numpy().tolist() == reference["attention_mask"]


def test_outputs_feed_bert_encoder():
    from keras_bert_zoo.models.bert import BertEncoder

    outputs = BertPreprocessor(tokenizer(), sequence_length=16)(["A short sentence.", "Another!"])
    assert {k: (v.dtype, v.shape.as_list()) for k, v in outputs.items()} == {
        k: (tf.int32, [2, 16]) for k in KEYS
    }
    encoder = BertEncoder(
        vocabulary_size=30522, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16,
        max_sequence_length=16,
    )
    assert encoder(outputs)["sequence_output"].shape == (2, 16, 8)


@pytest.mark.parametrize("sequence_length", [16, 64, None])
def test_single_sentences_match_hf(sequence_length):
    texts = sst2()
    outputs = BertPreprocessor(tokenizer(), sequence_length=sequence_length)(texts)
    if sequence_length is None:
        reference = hf()(texts, padding="longest")
    else:
        reference = hf()(texts, truncation=True, max_length=sequence_length, padding="max_length")
    assert_matches_hf(outputs, reference)


@pytest.mark.parametrize("truncate", ["longest_first", "only_second"])
@pytest.mark.parametrize("sequence_length", [64, 384])
def test_question_context_pairs_match_hf(truncate, sequence_length):
    questions, contexts = squad_pairs()
    preprocessor = BertPreprocessor(tokenizer(), sequence_length=sequence_length, truncate=truncate)
    outputs = preprocessor((tf.constant(questions), tf.constant(contexts)))
    reference = hf()(
        questions, contexts, truncation=truncate, max_length=sequence_length, padding="max_length"
    )
    assert_matches_hf(outputs, reference)
    if truncate == "longest_first":  # the longer segment first, too
        outputs = preprocessor((tf.constant(contexts), tf.constant(questions)))
        reference = hf()(
            contexts, questions, truncation=truncate, max_length=sequence_length, padding="max_length"
        )
        assert_matches_hf(outputs, reference)


def test_round_robin_pairs_and_dynamic_padding():
    questions, contexts = squad_pairs()
    outputs = BertPreprocessor(tokenizer(), sequence_length=48)((questions[:50], contexts[:50]))
    segment_ids, mask = outputs["segment_ids"].numpy(), outputs["padding_mask"].numpy()
    assert mask.sum(axis=1).tolist() == [48] * 50
    # Round robin leaves the short question whole: its tokens are all there before the first [SEP].
    question_ids = tokenizer()(questions[:50])
    assert ((segment_ids == 0).sum(axis=1) - 2).tolist() == question_ids.row_lengths().numpy().tolist()
    dynamic = BertPreprocessor(tokenizer(), sequence_length=None)((questions[:4], questions[4:8]))
    reference = hf()(questions[:4], questions[4:8], padding="longest")
    assert_matches_hf(dynamic, reference)


def test_a_list_of_strings_is_a_batch_and_a_scalar_is_one_example():
    preprocessor = BertPreprocessor(tokenizer(), sequence_length=8)
    assert preprocessor(["yes", "no"])["token_ids"].shape == (2, 8)
    single = preprocessor("yes")
    assert single["token_ids"].numpy().tolist() == [101, 2748, 102, 0, 0, 0, 0, 0]
    pair = preprocessor((tf.constant("yes"), tf.constant("no")))
    assert pair["segment_ids"].numpy().tolist() == [0, 0, 0, 1, 1, 0, 0, 0]
    listed = preprocessor([tf.constant(["yes"]), tf.constant(["no"])])
    assert listed["token_ids"].numpy().tolist() == [[101, 2748, 102, 2053, 102, 0, 0, 0]]


def test_config_round_trip(tmp_path):
    original = BertPreprocessor(tokenizer(), sequence_length=32, truncate="only_second", name="pre")
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(original)))
    assert config["config"]["tokenizer"]["registered_name"] == "keras_bert_zoo>BertTokenizer"
    # The vocabulary is a .keras asset: the round trip goes through a task model's .keras file.
    model = kbz.BertClassifier(kbz.BertEncoder(30522, 1, 2, 8, 16), num_classes=2, preprocessor=original)
    model.save(tmp_path / "model.keras")
    restored = kbz.load(tmp_path / "model.keras").preprocessor
    assert (restored.sequence_length, restored.truncate) == (32, "only_second")
    texts = (["What is it?"], ["It is a test of the round trip."])
    for key in KEYS:
        np.testing.assert_array_equal(restored(texts)[key], original(texts)[key])


def test_tf_data_map_and_tf_function():
    questions, contexts = squad_pairs()
    preprocessor = BertPreprocessor(tokenizer(), sequence_length=64, truncate="longest_first")
    expected = preprocessor((questions[:6], contexts[:6]))
    pairs = tf.data.Dataset.from_tensor_slices((questions[:6], contexts[:6]))
    batched = next(iter(pairs.batch(6).map(lambda q, c: preprocessor((q, c)))))
    unbatched = list(pairs.map(lambda q, c: preprocessor((q, c))).as_numpy_iterator())
    spec = tf.TensorSpec([None], tf.string)
    graph = tf.function(lambda q, c: preprocessor((q, c)), input_signature=[spec, spec])
    traced = graph(tf.constant(questions[:6]), tf.constant(contexts[:6]))
    for key in KEYS:
        np.testing.assert_array_equal(batched[key], expected[key])
        np.testing.assert_array_equal(np.stack([row[key] for row in unbatched]), expected[key])
        np.testing.assert_array_equal(traced[key], expected[key])


def test_saved_model_round_trip(tmp_path):
    preprocessor = BertPreprocessor(tokenizer(), sequence_length=None, truncate="longest_first")
    module = tf.Module()
    module.preprocessor = preprocessor
    spec = tf.TensorSpec([None], tf.string)
    module.serve = tf.function(lambda q, c: preprocessor((q, c)), input_signature=[spec, spec])
    tf.saved_model.save(module, str(tmp_path / "model"))
    loaded = tf.saved_model.load(str(tmp_path / "model"))
    questions, contexts = squad_pairs()
    texts = (questions[:3] + ["Ünïcödé?", ""], contexts[:3] + ["日本語 テキスト 👍🏽", "\u200b"])
    restored = loaded.serve(tf.constant(texts[0]), tf.constant(texts[1]))
    expected = preprocessor(texts)
    for key in KEYS:
        np.testing.assert_array_equal(restored[key], expected[key])


def test_from_preset_and_from_checkpoint(tmp_path):
    preset = kbz.load_preprocessor("bert_tiny_uncased", sequence_length=12, truncate="longest_first")
    assert (preset.sequence_length, preset.truncate, preset.tokenizer.lowercase) == (12, "longest_first", True)
    (tmp_path / "vocab.txt").write_text(VOCAB.read_text())
    checkpoint = kbz.load_preprocessor(tmp_path, sequence_length=8)
    assert checkpoint(["Hello!"])["token_ids"].numpy().tolist() == [[101, 7592, 999, 102, 0, 0, 0, 0]]
