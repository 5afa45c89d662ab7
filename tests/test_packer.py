"""BertPacker: layout, padding, and the three truncation strategies (checked against Hugging Face)."""

import functools
import itertools
import json
from pathlib import Path

import keras
import pytest
import tensorflow as tf

from keras_bert_zoo.text.packer import BertPacker

CLS, SEP, PAD = 101, 102, 0
A, B = 1037, 1038  # "a" and "b" in the uncased vocabulary: one token per word
VOCAB = Path(__file__).parents[1] / "keras_bert_zoo" / "vocab" / "uncased.txt"


@functools.cache
def hf():
    from transformers import BertTokenizerFast

    return BertTokenizerFast(vocab=str(VOCAB), do_lower_case=True)


def packer(sequence_length=8, truncate="round_robin"):
    return BertPacker(CLS, SEP, PAD, sequence_length=sequence_length, truncate=truncate)


def lists(outputs):
    return {k: v.numpy().tolist() for k, v in outputs.items()}


def test_single_segment_layout_and_dtypes():
    out = packer(6)(tf.ragged.constant([[1, 2, 3], [4], [5, 6, 7, 8, 9, 10]]))
    assert {k: (v.dtype, v.shape.as_list()) for k, v in out.items()} == {
        k: (tf.int32, [3, 6]) for k in ("token_ids", "segment_ids", "padding_mask")
    }
    assert lists(out) == {
        "token_ids": [[CLS, 1, 2, 3, SEP, PAD], [CLS, 4, SEP, PAD, PAD, PAD], [CLS, 5, 6, 7, 8, SEP]],
        "segment_ids": [[0] * 6] * 3,
        "padding_mask": [[1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0], [1] * 6],
    }


def test_pair_layout():
    out = packer(9)((tf.ragged.constant([[1, 2]]), tf.ragged.constant([[3, 4, 5]])))
    assert lists(out) == {
        "token_ids": [[CLS, 1, 2, SEP, 3, 4, 5, SEP, PAD]],
        "segment_ids": [[0, 0, 0, 0, 1, 1, 1, 1, 0]],
        "padding_mask": [[1, 1, 1, 1, 1, 1, 1, 1, 0]],
    }


def test_dynamic_padding_pads_to_the_longest_and_never_truncates():
    long = list(range(1000, 1600))
    out = packer(None)([[1], long])
    assert out["token_ids"].shape.as_list() == [2, 602]
    assert out["padding_mask"].numpy().sum(axis=1).tolist() == [3, 602]
    out = packer(None)(tf.ragged.constant([[1], [2, 3]]))
    assert lists(out)["token_ids"] == [[CLS, 1, SEP, PAD], [CLS, 2, 3, SEP]]


def test_unbatched_and_dense_inputs():
    out = packer(6)(([1, 2], [3]))
    assert lists(out)["token_ids"] == [CLS, 1, 2, SEP, 3, SEP] and out["segment_ids"].shape == (6,)
    dense = packer(5)(tf.constant([[7, 8], [9, 9]], tf.int64))
    assert lists(dense)["token_ids"] == [[CLS, 7, 8, SEP, PAD], [CLS, 9, 9, SEP, PAD]]


def round_robin_reference(len_a, len_b, budget):
    keep = [0, 0]
    while sum(keep) < budget and (keep[0] < len_a or keep[1] < len_b):
        for i, n in enumerate((len_a, len_b)):
            if keep[i] < n and sum(keep) < budget:
                keep[i] += 1
    return keep


def test_round_robin_takes_one_token_from_each_in_turn():
    grid = list(itertools.product(range(9), range(9)))
    for length in range(3, 16):
        out = packer(length)(([[A] * a for a, _ in grid], [[B] * b for _, b in grid]))
        for (a, b), ids in zip(grid, out["token_ids"].numpy().tolist()):
            assert [ids.count(A), ids.count(B)] == round_robin_reference(a, b, length - 3), (a, b)


def hf_pairs(grid, length, truncate):
    """HF ids per (len_a, len_b) pair, or None where HF refuses to truncate."""
    results = []
    for a, b in grid:
        try:
            # " " is an empty segment; HF would read "" as no second segment at all.
            encoded = hf()(
                "a " * a or " ", "b " * b or " ", truncation=truncate, max_length=length,
                padding="max_length",
            )
            results.append(encoded)
        except Exception:  # HF's "Sequence to truncate too short to respect the provided max_length"
            results.append(None)
    return results


@pytest.mark.parametrize("truncate", ["longest_first", "only_second"])
def test_pair_truncation_matches_hf(truncate):
    grid = list(itertools.product(range(13), range(13)))
    refused = []
    for length in (4, 5, 8, 11, 16):  # (HF special-cases length 3: it empties both segments)
        ref = hf_pairs(grid, length, truncate)
        ok = [pair for pair, r in zip(grid, ref) if r is not None]
        out = lists(packer(length, truncate)(([[A] * a for a, _ in ok], [[B] * b for _, b in ok])))
        for row, r in enumerate(r for r in ref if r is not None):
            assert out["token_ids"][row] == r["input_ids"]
            assert out["segment_ids"][row] == r["token_type_ids"]
            assert out["padding_mask"][row] == r["attention_mask"]
        refused += [(length, a, b) for (a, b), r in zip(grid, ref) if r is None]
    assert bool(refused) == (truncate == "only_second")
    for length, a, b in refused[:: max(1, len(refused) // 5)]:  # where HF refuses, we raise
        with pytest.raises(tf.errors.InvalidArgumentError, match="only_second"):
            packer(length, truncate)(([[A] * a], [[B] * b]))


@functools.cache
def hf_roberta():
    """A RobertaTokenizerFast whose "a" and "b" are one token per character (no merges)."""
    from transformers import RobertaTokenizerFast

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "a": 4, "b": 5, "<mask>": 6}
    return RobertaTokenizerFast(vocab=vocab, merges=[])


@pytest.mark.parametrize("truncate", ["longest_first", "only_second"])
def test_roberta_layout_matches_hf(truncate):
    """`<s> a </s></s> b </s>`, no segment ids, pad id 1: RoBERTa's pairs, truncated as Hugging Face does."""
    tokenizer = hf_roberta()
    grid = [(a, b) for a, b in itertools.product(range(1, 11), range(1, 11))]
    for length in (6, 7, 9, 12):
        expected, ok = [], []
        for a, b in grid:
            try:
                expected.append(tokenizer("a" * a, "b" * b, truncation=truncate, max_length=length,
                                          padding="max_length"))
                ok.append((a, b))
            except Exception:  # HF refuses where only_second cannot fit
                pass
        roberta = BertPacker(0, 2, 1, sequence_length=length, truncate=truncate, pair_separators=2,
                             segment_ids=False)
        out = lists(roberta(([[4] * a for a, _ in ok], [[5] * b for _, b in ok])))
        assert sorted(out) == ["padding_mask", "token_ids"]
        assert out["token_ids"] == [e["input_ids"] for e in expected], length
        assert out["padding_mask"] == [e["attention_mask"] for e in expected], length
    single = BertPacker(0, 2, 1, sequence_length=5, pair_separators=2, segment_ids=False)
    assert lists(single([[4] * 9]))["token_ids"] == [tokenizer("a" * 9, truncation=True, max_length=5)["input_ids"]]


def test_single_segment_truncation():
    for truncate in ("round_robin", "longest_first"):
        assert lists(packer(4, truncate)([[1, 2, 3, 4]]))["token_ids"] == [[CLS, 1, 2, SEP]]
    assert lists(packer(4, "only_second")([[1, 2]]))["token_ids"] == [[CLS, 1, 2, SEP]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="only_second"):
        packer(4, "only_second")([[1, 2, 3]])


def test_only_second_error_inside_tf_function():
    spec = tf.RaggedTensorSpec([None, None], tf.int32)
    pack = tf.function(packer(5, "only_second"), input_signature=[(spec, spec)])
    ragged = functools.partial(tf.ragged.constant, dtype=tf.int32)
    out = pack((ragged([[1]]), ragged([[3, 4, 5]])))
    assert out["token_ids"].numpy().tolist() == [[CLS, 1, SEP, 3, SEP]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="first segment leaves no room"):
        pack((ragged([[1, 2]]), ragged([[3, 4, 5]])))


def test_bad_arguments():
    with pytest.raises(ValueError, match="truncate"):
        packer(8, "waterfall")
    with pytest.raises(ValueError, match="one or two segments"):
        packer(8)(([[1]], [[2]], [[3]]))
    with pytest.raises(ValueError, match="no room for the 3 special tokens"):
        packer(2)(([[1]], [[2]]))
    with pytest.raises(ValueError, match="no room for the 4 special tokens"):
        BertPacker(0, 2, 1, sequence_length=3, pair_separators=2)(([[1]], [[2]]))
    with pytest.raises(ValueError, match="pair_separators"):
        BertPacker(0, 2, 1, pair_separators=3)


def test_config_round_trip():
    original = BertPacker(2, 3, 0, sequence_length=None, truncate="longest_first", pair_separators=2,
                          segment_ids=False, name="p")
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(original)))
    restored = keras.saving.deserialize_keras_object(config)
    assert restored.get_config() == original.get_config()
    assert lists(restored([[7, 7]]))["token_ids"] == [[2, 7, 7, 3]]


def test_longest_padding_truncates_at_sequence_length_and_pads_to_the_batch():
    packer = BertPacker(cls_id=101, sep_id=102, pad_id=0, sequence_length=6, padding="longest")
    short = packer(tf.ragged.constant([[7], [7, 8]]))
    assert short["token_ids"].numpy().tolist() == [[101, 7, 102, 0], [101, 7, 8, 102]]
    long = packer(tf.ragged.constant([[1, 2, 3, 4, 5, 6, 7, 8], [9]]))
    assert long["token_ids"].numpy().tolist() == [[101, 1, 2, 3, 4, 102], [101, 9, 102, 0, 0, 0]]
    assert BertPacker.from_config(packer.get_config()).padding == "longest"
    with pytest.raises(ValueError, match="padding must be one of"):
        BertPacker(101, 102, 0, padding="dynamic")
