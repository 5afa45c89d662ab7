"""keras_bert_zoo.data.seq2seq: pairs -> encoder/decoder inputs, shifted labels and weights (exact, against the
tokenizer's own ids), bucketing, line-aligned files; the WordPiece vocabulary builder round trip."""

import gzip
from pathlib import Path

import numpy as np
import pytest
import sacrebleu
import tensorflow as tf

from keras_bert_zoo.data.seq2seq import ParallelTexts, decode_ids, read_parallel_text, seq2seq_dataset
from keras_bert_zoo.data.wordpiece_vocabulary import build_wordpiece_vocabulary
from keras_bert_zoo.text import BertPreprocessor, BertTokenizer

WORDS = ["a", "man", "dog", "runs", "the", "park", "in", ".", "##s", "big", "red", "ball"]
SOURCE_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
# Another order: the target side must use its own [CLS], [SEP] and [PAD] ids.
TARGET_VOCAB = ["[MASK]", "[SEP]", "[CLS]", "[UNK]", "[PAD]", "ein", "mann", "hund", "läuft", "im", "park", "."]
PAIRS = ParallelTexts(
    ["a man runs .", "the big red dog runs in the park .", "a dog", "the balls"],
    ["ein mann läuft .", "ein hund läuft im park . ein hund läuft im park .", "ein hund", "park"],
)


@pytest.fixture(scope="module")
def tokenizers():
    return BertTokenizer(SOURCE_VOCAB), BertTokenizer(TARGET_VOCAB, lowercase=False)


def _expected(pairs, source, target, sequence_length, target_length):
    """Each pair's rows as lists, from the tokenizers' own ids."""
    rows = []
    for text, summary in zip(pairs.sources, pairs.targets):
        encoder = [source.cls_id, *source(text).numpy().tolist()[:sequence_length - 2], source.sep_id]
        full = [target.cls_id, *target(summary).numpy().tolist()[:target_length - 2], target.sep_id]
        rows.append((encoder, full[:-1], full[1:]))
    return rows


def _rows(x, labels, weights):
    """A batch's rows without their padding (checking that the padding is the pad id with weight 0)."""
    rows = []
    for i in range(len(labels)):
        encoder_mask, decoder_mask = x["encoder_padding_mask"][i], x["decoder_padding_mask"][i]
        assert np.array_equal(weights[i], decoder_mask.astype("float32"))
        e, d = int(encoder_mask.sum()), int(decoder_mask.sum())
        assert encoder_mask[:e].all() and decoder_mask[:d].all()
        rows.append((x["encoder_token_ids"][i][:e].tolist(), x["decoder_token_ids"][i][:d].tolist(),
                     labels[i][:d].tolist()))
    return rows


def test_fixed_length_batches_are_exact(tokenizers):
    source, target = tokenizers
    preprocessor = BertPreprocessor(source, sequence_length=8)
    ds = seq2seq_dataset(PAIRS, preprocessor, 4, target_tokenizer=target, target_length=6)
    (x, labels, weights), = ds.as_numpy_iterator()
    assert sorted(x) == ["decoder_padding_mask", "decoder_token_ids", "encoder_padding_mask", "encoder_token_ids"]
    assert x["encoder_token_ids"].shape == (4, 8) and labels.shape == weights.shape == (4, 5)
    assert x["decoder_token_ids"].dtype == labels.dtype == np.int32 and weights.dtype == np.float32
    assert _rows(x, labels, weights) == _expected(PAIRS, source, target, 8, 6)
    # The long target is cut to 6 tokens and keeps its [SEP] as the last label; padding is each side's [PAD].
    assert x["decoder_token_ids"][1].tolist() == [2, 5, 7, 8, 9] and labels[1].tolist() == [5, 7, 8, 9, 1]
    assert labels[2].tolist() == [5, 7, 1, 4, 4] and x["encoder_token_ids"][2, -1] == 0


def test_buckets_cut_each_side_to_its_own_bound(tokenizers):
    source, target = tokenizers
    preprocessor = BertPreprocessor(source, sequence_length=32, padding="longest")
    pairs = ParallelTexts(PAIRS.sources * 3, PAIRS.targets * 3)
    ds = seq2seq_dataset(pairs, preprocessor, 2, target_tokenizer=target, target_length=32,
                         bucket_by_sequence_length=[4, 8, 16], shuffle=True, seed=3)
    batches = list(ds.as_numpy_iterator())
    # Pairs are 6, 13, 4 and 5 tokens long (the longer side): buckets 4 (3 pairs), 8 (6), 16 (3) in batches of 2.
    assert int(ds.cardinality()) == len(batches) == 7
    rows = []
    for x, labels, weights in batches:
        for key, lengths in (("encoder", x["encoder_padding_mask"]), ("decoder", x["decoder_padding_mask"])):
            longest = lengths.sum(axis=1).max()
            assert lengths.shape[1] == next(b for b in (4, 8, 16, 32) if b >= longest), key
        rows += _rows(x, labels, weights)
    assert sorted(rows) == sorted(_expected(pairs, source, target, 32, 32))


def test_max_examples_and_a_bad_target_length(tokenizers):
    preprocessor = BertPreprocessor(tokenizers[0], sequence_length=8)
    ds = seq2seq_dataset(PAIRS, preprocessor, 1, max_examples=3, target_length=4)
    assert int(ds.cardinality()) == 3
    with pytest.raises(ValueError, match="target_length=1: it counts"):
        seq2seq_dataset(PAIRS, preprocessor, 1, target_length=1)


def test_read_parallel_text_names_the_bad_file(tmp_path):
    (tmp_path / "a.en").write_text("one\ntwo\n", encoding="utf-8")
    with gzip.open(tmp_path / "a.de.gz", "wt", encoding="utf-8") as file:
        file.write("eins\nzwei\n")
    assert read_parallel_text(tmp_path / "a.en", tmp_path / "a.de.gz") == ParallelTexts(["one", "two"],
                                                                                         ["eins", "zwei"])
    (tmp_path / "b.de").write_text("eins\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"a\.en has 2 lines but .*b\.de has 1: the files are not line-aligned"):
        read_parallel_text(tmp_path / "a.en", tmp_path / "b.de")
    (tmp_path / "c.de").write_text("eins\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"c\.de:2: empty line"):
        read_parallel_text(tmp_path / "a.en", tmp_path / "c.de")
    (tmp_path / "d.de").write_bytes(b"eins\n\xff\n")
    with pytest.raises(ValueError, match=r"d\.de: not UTF-8"):
        read_parallel_text(tmp_path / "a.en", tmp_path / "d.de")


def test_learnt_vocabulary_round_trips_its_text(tmp_path):
    """A vocabulary learnt from a text tokenizes it with no [UNK], and `decode_ids` gives the text back."""
    with gzip.open(Path(__file__).parents[1] / "recipes" / "data" / "multi30k" / "val.de.gz", "rt",
                   encoding="utf-8") as file:
        texts = file.read().splitlines()[:200]
    vocabulary = build_wordpiece_vocabulary(texts, 600)
    assert vocabulary[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert 400 < len(vocabulary) <= 600 and len(set(vocabulary)) == len(vocabulary)
    assert any(token.startswith("##") for token in vocabulary)
    tokenizer = BertTokenizer(vocabulary, lowercase=False)
    ids = tokenizer(tf.constant(texts)).to_list()
    assert tokenizer.unk_id not in {i for row in ids for i in row}
    decoded = [decode_ids(tokenizer, [tokenizer.cls_id, *row, tokenizer.sep_id, tokenizer.pad_id]) for row in ids]
    same = sum(d == t for d, t in zip(decoded, texts))
    assert same >= 196, [(d, t) for d, t in zip(decoded, texts) if d != t]  # quotes keep their spaces
    assert sacrebleu.corpus_bleu(decoded, [texts]).score > 99.9
    with pytest.raises(ValueError, match="no texts"):
        build_wordpiece_vocabulary([], 100)
