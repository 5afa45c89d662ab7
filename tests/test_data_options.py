"""The options every data pipeline shares: bucketing, sharding, limits, caching, batch sizes.

Examples carry their index (as a regression label, or in their one-piece-per-word text), so every
test can tell which examples a batch holds, and compare values with the plain pipeline's.
"""

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_bert_zoo.data import (
    DatasetOptions,
    SquadExamples,
    TaggedSentences,
    TextExamples,
    classification_dataset,
    ner_dataset,
    pretraining_dataset,
    squad_dataset,
)
from keras_bert_zoo.data.options import DEFAULT_BOUNDS
from keras_bert_zoo.text import BertPreprocessor, BertTokenizer

VOCAB = Path(__file__).parents[1] / "keras_bert_zoo" / "vocab" / "uncased.txt"
NUM_EXAMPLES = 203  # not a multiple of any batch size used here


@pytest.fixture(scope="module")
def tokenizer():
    return BertTokenizer(VOCAB, lowercase=True)


@pytest.fixture(scope="module")
def words(tokenizer):
    """Vocabulary words that are one wordpiece each."""
    return np.array([t for t in tokenizer.get_vocabulary()[2000:6000] if t.isascii() and t.isalpha() and len(t) >= 3])


@pytest.fixture(scope="module")
def examples(words):
    """Sentences of 1 to 100 words; label i (a float) for sentence i."""
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, rng.integers(1, 101))) for _ in range(NUM_EXAMPLES)]
    return TextExamples([texts], [str(i) for i in range(NUM_EXAMPLES)])


@pytest.fixture(scope="module")
def preprocessor(tokenizer):
    return BertPreprocessor(tokenizer, sequence_length=96)


@pytest.fixture(scope="module")
def reference(examples, preprocessor):
    """Each example's unpadded token ids, from the preprocessor itself."""
    out = preprocessor(examples.texts[0])
    return [row[:n].tolist() for row, n in zip(out["token_ids"].numpy(), out["padding_mask"].numpy().sum(1))]


def _examples(ds):
    """(index, unpadded token ids, padded width, batch size) of every example, batch by batch."""
    rows = []
    for inputs, labels in ds.as_numpy_iterator():
        lengths = inputs["padding_mask"].sum(axis=1)
        assert (inputs["padding_mask"] == (np.arange(inputs["token_ids"].shape[1]) < lengths[:, None])).all()
        for ids, n, label in zip(inputs["token_ids"], lengths, labels):
            rows.append((int(label), ids[:n].tolist(), inputs["token_ids"].shape[1], len(labels)))
    return rows


def _check_every_example_once(rows, reference):
    assert sorted(index for index, *_ in rows) == list(range(len(reference)))
    for index, ids, *_ in rows:
        assert ids == reference[index]


@pytest.mark.parametrize("bounds", [True, [24, 40, 64]])
@pytest.mark.parametrize("shuffle", [False, True])
def test_bucketing_pads_each_batch_to_its_bucket_bound(examples, preprocessor, reference, bounds, shuffle):
    ds = classification_dataset(
        examples, preprocessor, 16, shuffle=shuffle, seed=3, bucket_by_sequence_length=bounds
    )
    rows = _examples(ds)
    _check_every_example_once(rows, reference)
    bounds = [b for b in DEFAULT_BOUNDS if b < 96] + [96] if bounds is True else bounds + [96]  # 96: the length
    widths = set()
    for index, ids, width, size in rows:
        bucket = next((i for i, b in enumerate(bounds) if len(ids) <= b), len(bounds))
        assert width == bounds[bucket] and len(ids) > ([0] + bounds)[bucket]  # padded to its bound
        widths.add(width)
        assert size <= 16
    assert len(widths) >= 4
    # Unbucketed, every batch is padded to the sequence length.
    plain = _examples(classification_dataset(examples, preprocessor, 16))
    assert {width for *_, width, _ in plain} == {96}


def test_bucketing_with_dynamic_padding_and_drop_remainder(examples, tokenizer):
    preprocessor = BertPreprocessor(tokenizer, sequence_length=None)
    full = [[tokenizer.cls_id] + ids + [tokenizer.sep_id] for ids in tokenizer(examples.texts[0]).to_list()]
    rows = _examples(classification_dataset(examples, preprocessor, 8, bucket_by_sequence_length=True))
    _check_every_example_once(rows, full)
    assert all(len(ids) <= width and width in DEFAULT_BOUNDS for _, ids, width, _ in rows)
    # Without a sequence length, lengths past the last bound are padded to their batch's longest.
    rows = _examples(classification_dataset(examples, preprocessor, 8, bucket_by_sequence_length=[16, 32]))
    _check_every_example_once(rows, full)
    longest = {}
    for _, ids, width, _ in rows:
        assert len(ids) <= width and (width in (16, 32) or len(ids) > 32)
        longest[width] = max(longest.get(width, 0), len(ids))
    assert any(width > 32 for width in longest) and all(longest[w] == w for w in longest if w > 32)
    dropped = _examples(classification_dataset(
        examples, preprocessor, 8, bucket_by_sequence_length=True, drop_remainder=True))
    assert {size for *_, size in dropped} == {8} and NUM_EXAMPLES - 4 * 7 < len(dropped) < NUM_EXAMPLES


def _context(num_pipelines, index):
    return tf.distribute.InputContext(num_pipelines, index, num_replicas_in_sync=num_pipelines)


@pytest.mark.parametrize("extra", [{}, {"shuffle": True}, {"cache": True, "shuffle": True},
                                   {"bucket_by_sequence_length": True}])
def test_shards_partition_the_data(examples, preprocessor, reference, extra):
    halves = [
        _examples(classification_dataset(examples, preprocessor, 8, input_context=_context(2, i), **extra))
        for i in range(2)
    ]
    ids = [{index for index, *_ in half} for half in halves]
    assert not ids[0] & ids[1] and len(ids[0]) + len(ids[1]) == NUM_EXAMPLES
    assert abs(len(ids[0]) - len(ids[1])) <= 1
    _check_every_example_once(halves[0] + halves[1], reference)
    assert all(size <= 4 for half in halves for *_, size in half)  # per-replica batches


def test_two_workers_see_the_single_device_global_batches(examples, preprocessor):
    single = [sorted(labels.tolist()) for _, labels in
              classification_dataset(examples, preprocessor, 8, shuffle=True, seed=5).as_numpy_iterator()]
    workers = [
        [labels.tolist() for _, labels in classification_dataset(
            examples, preprocessor, 8, shuffle=True, seed=5, input_context=_context(2, i)).as_numpy_iterator()]
        for i in range(2)
    ]
    together = [sorted(a + b) for a, b in zip(*workers)]
    assert together == single[: len(together)] and len(together) == len(single)


def test_auto_shard_policy_is_explicit(examples, preprocessor):
    policy = tf.data.experimental.AutoShardPolicy
    ds = classification_dataset(examples, preprocessor, 8)
    assert ds.options().experimental_distribute.auto_shard_policy == policy.DATA
    ds = classification_dataset(examples, preprocessor, 8, input_context=_context(2, 0))
    assert ds.options().experimental_distribute.auto_shard_policy == policy.OFF
    strategy = tf.distribute.get_strategy()
    dist = strategy.distribute_datasets_from_function(
        lambda context: classification_dataset(examples, preprocessor, 8, input_context=context, max_examples=20)
    )
    assert sum(int(tf.shape(labels)[0]) for _, labels in dist) == 20


def test_max_examples_takes_the_first_ones(examples, preprocessor, reference):
    rows = _examples(classification_dataset(examples, preprocessor, 8, shuffle=True, max_examples=30))
    _check_every_example_once(rows, reference[:30])
    rows = _examples(classification_dataset(examples, preprocessor, 8, max_examples=30,
                                            bucket_by_sequence_length=True))
    _check_every_example_once(rows, reference[:30])


def _epochs(ds, n=2):
    return [[tf.nest.map_structure(np.asarray, batch) for batch in ds.as_numpy_iterator()] for _ in range(n)]


def _same(a, b):
    flat_a, flat_b = tf.nest.flatten(a), tf.nest.flatten(b)
    return len(flat_a) == len(flat_b) and all(
        x.shape == y.shape and (x == y).all() for x, y in zip(flat_a, flat_b))


@pytest.mark.parametrize("cache", [True, "file"])
def test_cache_gives_identical_epochs_without_shuffle(examples, preprocessor, reference, cache, tmp_path):
    cache = str(tmp_path / "cache") if cache == "file" else cache
    plain = _epochs(classification_dataset(examples, preprocessor, 16), 1)[0]
    cached = classification_dataset(examples, preprocessor, 16, cache=cache)
    assert int(cached.cardinality()) == len(plain) == -(-NUM_EXAMPLES // 16)  # Keras sees the epoch's length
    first, second = _epochs(cached)
    assert _same(first, plain) and _same(second, first)
    if cache is not True:
        assert list(tmp_path.glob("cache_0-of-1*"))
    shuffled = classification_dataset(examples, preprocessor, 16, cache=True, shuffle=True, seed=1)
    first, second = _epochs(shuffled)
    assert not _same(first, second)
    for epoch in (first, second):
        rows = [(int(label), ids[:n].tolist()) for inputs, labels in epoch
                for ids, n, label in zip(inputs["token_ids"], inputs["padding_mask"].sum(1), labels)]
        _check_every_example_once(rows, reference)


def test_unknown_or_bad_options_are_errors(examples, preprocessor):
    with pytest.raises(TypeError, match="bucket_by_length"):
        classification_dataset(examples, preprocessor, 8, bucket_by_length=True)
    with pytest.raises(ValueError, match="bucket_by_sequence_length"):
        classification_dataset(examples, preprocessor, 8, bucket_by_sequence_length=[0, 8])
    with pytest.raises(ValueError, match="batch_size"):
        DatasetOptions(batch_size=0)
    assert DatasetOptions(bucket_by_sequence_length=True).bucket_bounds(100) == [8, 16, 24, 32, 48, 64, 96, 100]
    assert DatasetOptions(bucket_by_sequence_length=[64, 8, 128]).bucket_bounds(100) == [8, 64, 100]
    assert DatasetOptions(bucket_by_sequence_length=[64, 8]).bucket_bounds(None) == [8, 64]


# --- The same options on the other pipelines --------------------------------------------------------


def _ner_rows(ds):
    rows = []
    for inputs, labels, weights in ds.as_numpy_iterator():
        for ids, n, label, weight in zip(inputs["token_ids"], inputs["padding_mask"].sum(1), labels, weights):
            assert (label[n:] == -100).all() and (weight[n:] == 0).all()
            rows.append((ids[:n].tolist(), label[:n].tolist(), inputs["token_ids"].shape[1]))
    return rows


def test_ner_options(words, tokenizer):
    rng = np.random.default_rng(1)
    sentences = [list(rng.choice(words, rng.integers(1, 60))) for _ in range(90)]
    tags = [["B-X" if i % 3 == 0 else "O" for i in range(len(s))] for s in sentences]
    args = (TaggedSentences(sentences, tags), BertPreprocessor(tokenizer, sequence_length=64))
    labels = dict(label_names=["O", "B-X"])
    plain = _ner_rows(ner_dataset(*args, batch_size=8, **labels))
    assert {width for *_, width in plain} == {64}
    bucketed = _ner_rows(ner_dataset(*args, batch_size=8, **labels, shuffle=True, bucket_by_sequence_length=[20, 40]))
    assert sorted(r[:2] for r in bucketed) == sorted(r[:2] for r in plain)
    assert all(len(ids) <= width and width == (20 if len(ids) <= 20 else 40 if len(ids) <= 40 else 64)
               for ids, _, width in bucketed)
    halves = [_ner_rows(ner_dataset(*args, batch_size=8, **labels, cache=True, input_context=_context(2, i)))
              for i in range(2)]
    assert sorted(r[:2] for r in halves[0] + halves[1]) == sorted(r[:2] for r in plain)
    assert len(halves[0]) == 45 and halves[0][0][:2] == plain[0][:2] and halves[1][0][:2] == plain[1][:2]
    assert _ner_rows(ner_dataset(*args, batch_size=8, **labels, max_examples=5)) == plain[:5]


def test_squad_options(words, tokenizer):
    rng = np.random.default_rng(2)
    contexts = [" ".join(rng.choice(words, rng.integers(5, 120))) for _ in range(40)]
    answers = [c.split()[len(c.split()) // 2] for c in contexts]
    examples = SquadExamples(
        ids=[str(i) for i in range(40)], questions=[f"{words[i]} ?" for i in range(40)], contexts=contexts,
        answers=[[a] for a in answers],
        answer_starts=[[(" " + c + " ").index(" " + a + " ")] for c, a in zip(contexts, answers)],
    )

    def rows(ds):
        out = []
        for inputs, targets in ds.as_numpy_iterator():
            for ids, n, start in zip(inputs["token_ids"], inputs["padding_mask"].sum(1), targets["start_logits"]):
                out.append((tuple(ids[:n].tolist()), int(start), inputs["token_ids"].shape[1]))
        return out

    window = BertPreprocessor(tokenizer, sequence_length=64)
    plain = rows(squad_dataset(examples, window, 8, doc_stride=16, max_query_length=16))
    assert len(plain) > 40 and {width for *_, width in plain} == {64}
    bucketed = rows(squad_dataset(examples, window, 8, doc_stride=16, max_query_length=16, shuffle=True,
                                  bucket_by_sequence_length=[32, 48]))
    assert sorted(r[:2] for r in bucketed) == sorted(r[:2] for r in plain)
    assert all(len(ids) <= width < 64 or len(ids) > 48 for ids, _, width in bucketed)
    cached = squad_dataset(examples, window, 8, doc_stride=16, max_query_length=16, cache=True)
    first, second = _epochs(cached)
    assert _same(first, second) and sorted(r[:2] for r in rows(cached)) == sorted(r[:2] for r in plain)
    limited = rows(squad_dataset(examples, window, 8, doc_stride=16, max_query_length=16,
                                 max_examples=3))  # 3 questions
    question = {tuple(ids[1:ids.index(tokenizer.sep_id)]) for ids, *_ in limited}
    assert len(question) == 3


def test_pretraining_options(words, tokenizer):
    rng = np.random.default_rng(3)
    corpus = [[" ".join(rng.choice(words, rng.integers(3, 12))) for _ in range(rng.integers(2, 30))]
              for _ in range(60)]
    args = (corpus, BertPreprocessor(tokenizer, sequence_length=64), 16)
    features = dict(as_features=True, seed=1)
    plain = _epochs(pretraining_dataset(*args, **features), 1)[0]
    num_pairs = sum(len(b["next_sentence_label"]) for b in plain)
    bucketed = _epochs(pretraining_dataset(*args, **features, bucket_by_sequence_length=[24, 40]), 1)[0]
    assert sum(len(b["next_sentence_label"]) for b in bucketed) == num_pairs
    for batch in bucketed:
        lengths = batch["padding_mask"].sum(1)
        width = batch["token_ids"].shape[1]
        assert width == (24 if lengths.max() <= 24 else 40 if lengths.max() <= 40 else 64)
        assert (batch["mask_positions"] < lengths[:, None]).all() and (batch["mask_weights"].sum(1) >= 1).all()
    assert sorted(int(n) for b in bucketed for n in b["padding_mask"].sum(1)) == sorted(
        int(n) for b in plain for n in b["padding_mask"].sum(1))
    first, second = _epochs(pretraining_dataset(*args, **features, cache=True))
    assert _same(first, second) and _same(first, plain)  # cached before masking: the same masks
    halves = [_epochs(pretraining_dataset(*args, **features, input_context=_context(2, i)), 1)[0] for i in range(2)]
    assert sum(len(b["next_sentence_label"]) for half in halves for b in half) == num_pairs
    assert all(len(b["next_sentence_label"]) <= 8 for half in halves for b in half)
    assert not (halves[0][0]["mask_positions"] == halves[1][0]["mask_positions"]).all()  # seeds differ
    limited = _epochs(pretraining_dataset(*args, **features, max_examples=20), 1)[0]
    assert [len(b["next_sentence_label"]) for b in limited] == [16, 4]
    assert _same(limited[0], plain[0])


def test_every_pipeline_is_fit_ready_with_static_ranks_and_known_cardinality(words, tokenizer, examples, preprocessor):
    rng = np.random.default_rng(4)
    sentences = [list(rng.choice(words, rng.integers(1, 40))) for _ in range(30)]
    tagged = TaggedSentences(sentences, [["O"] * len(sentence) for sentence in sentences])
    contexts = [" ".join(rng.choice(words, rng.integers(5, 120))) for _ in range(20)]
    squad = SquadExamples([str(i) for i in range(20)], ["what ?"] * 20, contexts, [[]] * 20, [[]] * 20)
    documents = [[" ".join(rng.choice(words, rng.integers(3, 12))) for _ in range(10)] for _ in range(10)]
    short = BertPreprocessor(tokenizer, sequence_length=64)
    buckets = dict(shuffle=True, bucket_by_sequence_length=[24, 40])
    pipelines = {
        "classification": (classification_dataset(examples, preprocessor, 16, **buckets), 2),
        "ner": (ner_dataset(tagged, short, 8, label_names=["O"], **buckets), 3),
        "squad": (squad_dataset(squad, short, 8, doc_stride=16, max_query_length=16, **buckets), 2),
        "squad, drop_remainder": (squad_dataset(squad, short, 8, doc_stride=16, max_query_length=16,
                                                drop_remainder=True), 2),
        "pretraining": (pretraining_dataset(documents, short, 8, **buckets), 3),
    }
    for name, (ds, size) in pipelines.items():
        assert isinstance(ds.element_spec, tuple) and len(ds.element_spec) == size, name
        assert all(spec.shape.rank is not None for spec in tf.nest.flatten(ds.element_spec)), name
        assert int(ds.cardinality()) == sum(1 for _ in ds) > 0, name
    # a shard of a shuffled pipeline with windows holds other examples every epoch: its count is not fixed
    sharded = squad_dataset(squad, short, 8, doc_stride=16, max_query_length=16, shuffle=True,
                            input_context=_context(2, 0))
    assert int(sharded.cardinality()) == tf.data.UNKNOWN_CARDINALITY
