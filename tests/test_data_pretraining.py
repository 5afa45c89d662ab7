"""Pretraining data: NSP pairs, masking statistics, whole-word masking, determinism.

The corpora are made of vocabulary words, each used once, so every token id tells which document,
sentence and position it came from.
"""

from pathlib import Path

import numpy as np
import pytest

from keras_bert_zoo.data import (
    IGNORE_LABEL,
    mask_tokens,
    pretraining_dataset,
    read_pretraining_text,
    split_for_pretrainer,
)
from keras_bert_zoo.text import BertPreprocessor, BertTokenizer

VOCAB = Path(__file__).parents[1] / "keras_bert_zoo" / "vocab" / "uncased.txt"


@pytest.fixture(scope="module")
def tokenizer():
    return BertTokenizer(VOCAB, lowercase=True)


@pytest.fixture(scope="module")
def words(tokenizer):
    """Whole-word vocabulary entries (one wordpiece each), shuffled."""
    vocabulary = tokenizer.get_vocabulary()
    pool = [t for t in vocabulary[2000:] if t.isascii() and t.isalpha() and len(t) >= 3]
    return list(np.random.default_rng(0).permutation(pool))


def _corpus(words, num_documents, sentences, sentence_words, seed):
    """Documents of unique words; sentences per document and words per sentence drawn in ranges."""
    rng, stream = np.random.default_rng(seed), iter(words)

    def sentence():
        return " ".join(next(stream) for _ in range(rng.integers(*sentence_words)))

    return [[sentence() for _ in range(rng.integers(*sentences))] for _ in range(num_documents)]


def _collect(ds):
    parts = list(ds.as_numpy_iterator())
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _originals(batch):
    """token_ids with the masked positions given back their original ids."""
    ids = batch["token_ids"].copy()
    rows, slots = np.nonzero(batch["mask_weights"])
    ids[rows, batch["mask_positions"][rows, slots]] = batch["mask_ids"][rows, slots]
    return ids


def _segments(ids, tokenizer):
    """(A, B) piece lists of one packed row."""
    sep = np.flatnonzero(ids == tokenizer.sep_id)
    return ids[1:sep[0]].tolist(), ids[sep[0] + 1:sep[1]].tolist()


def _where(corpus, tokenizer):
    """token id -> (document, sentence, position in the document's pieces)."""
    sentences = [sentence for document in corpus for sentence in document]
    pieces = iter(tokenizer(sentences).to_list())
    where = {}
    for d, document in enumerate(corpus):
        position = 0
        for s in range(len(document)):
            for token in next(pieces):
                where[token] = (d, s, position)
                position += 1
    return where


@pytest.fixture(scope="module")
def short_documents(words, tokenizer):
    """Documents that fit in 128 pieces: nothing is ever truncated."""
    corpus = _corpus(words, 300, (2, 8), (2, 7), seed=1)
    ds = pretraining_dataset(corpus, BertPreprocessor(tokenizer, sequence_length=128), 64, short_seq_prob=0.0, seed=7,
                             as_features=True)
    return corpus, _collect(ds)


@pytest.fixture(scope="module")
def long_documents(words, tokenizer):
    """Long documents in 128-piece pairs, mostly filled and truncated; planned 10 times."""
    corpus = _corpus(words, 16, (120, 200), (3, 8), seed=2)
    ds = pretraining_dataset(corpus, BertPreprocessor(tokenizer, sequence_length=128), 128, dupe_factor=10, seed=3,
                             as_features=True)
    return corpus, _collect(ds)


def test_reader_splits_documents_on_blank_lines_and_files(tmp_path):
    (tmp_path / "a.txt").write_text("One.\n  Two.  \n\n\n\nThree.\n\n")
    (tmp_path / "b.txt").write_text("Four.\nFive.")
    documents = read_pretraining_text([tmp_path / "a.txt", tmp_path / "b.txt"])
    assert documents == [["One.", "Two."], ["Three."], ["Four.", "Five."]]


def test_is_next_pairs_are_consecutive_sentences_and_random_ones_elsewhere(short_documents, tokenizer):
    corpus, batch = short_documents
    where = _where(corpus, tokenizer)
    first, last = {}, {}  # (document, sentence) -> first / last position of its pieces
    for d, s, p in where.values():
        first[d, s], last[d, s] = min(first.get((d, s), p), p), max(last.get((d, s), p), p)
    labels = batch["next_sentence_label"]
    assert len(labels) > 400 and set(labels.tolist()) == {0, 1}
    for ids, label in zip(_originals(batch), labels):
        a, b = ([where[t] for t in segment] for segment in _segments(ids, tokenizer))
        for segment in (a, b):  # whole consecutive sentences of one document
            d, s, p = segment[0]
            assert [(d_, p_) for d_, _, p_ in segment] == [(d, p + k) for k in range(len(segment))]
            assert first[d, s] == p and last[segment[-1][:2]] == segment[-1][2]
        if label == 0:
            assert b[0][0] == a[0][0] and b[0][2] == a[-1][2] + 1
        else:
            assert b[0][0] != a[0][0]


def test_nsp_is_balanced_and_truncated_pairs_keep_their_order(long_documents, tokenizer):
    corpus, batch = long_documents
    where = _where(corpus, tokenizer)
    labels = batch["next_sentence_label"]
    assert len(labels) > 1000 and abs(labels.mean() - 0.5) < 0.05
    lengths = batch["padding_mask"].sum(axis=1)
    # Pairs are filled up, but short_seq_prob=0.1 of the documents aim at a shorter random length.
    assert lengths.max() == 128 and np.mean(lengths == 128) > 0.5 and np.mean(lengths < 64) > 0.05
    for ids, label in zip(_originals(batch), labels):
        a, b = ([where[t] for t in segment] for segment in _segments(ids, tokenizer))
        for segment in (a, b):  # consecutive pieces of one document
            d, _, p = segment[0]
            assert [(d_, p_) for d_, _, p_ in segment] == [(d, p + k) for k in range(len(segment))]
        if label == 0:
            assert b[0][0] == a[0][0] and b[0][2] >= a[-1][2] + 1
            assert b[0][2] == a[-1][2] + 1 or len(a) + len(b) == 125  # a gap only where truncated
        else:
            assert b[0][0] != a[0][0]


def test_masking_statistics(long_documents, tokenizer):
    _, batch = long_documents
    weights = batch["mask_weights"]
    maskable = batch["padding_mask"].sum(axis=1) - 3
    expected = np.minimum(20, np.maximum(1, np.round(0.15 * maskable)))
    assert (weights.sum(axis=1) == expected).all()
    rows, slots = np.nonzero(weights)
    positions = batch["mask_positions"][rows, slots]
    original = batch["mask_ids"][rows, slots]
    now = batch["token_ids"][rows, positions]
    specials = [tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id, tokenizer.mask_id]
    assert not np.isin(original, specials).any()
    assert (np.diff(batch["mask_positions"], axis=1)[weights[:, 1:] > 0] > 0).all()  # sorted
    assert (batch["mask_positions"][weights == 0] == 0).all()
    assert (batch["mask_ids"][weights == 0] == 0).all()
    share = [np.mean(now == tokenizer.mask_id), np.mean(now == original)]
    share.append(1 - sum(share))
    assert len(now) > 15000 and np.allclose(share, [0.8, 0.1, 0.1], atol=0.015), share
    random = now[(now != tokenizer.mask_id) & (now != original)]
    vocabulary = tokenizer.get_vocabulary()
    assert not any(vocabulary[t].startswith("[") for t in random.tolist())
    # Every maskable position is picked at about the same rate.
    picked = np.zeros(128)
    np.add.at(picked, positions, 1)
    available = (np.arange(128)[None, :] < batch["padding_mask"].sum(axis=1)[:, None] - 1).sum(axis=0)
    rate = picked[1:100] / available[1:100]
    assert rate.std() < 0.03 and abs(rate.mean() - 0.15) < 0.01


def test_masking_statistics_over_10k_sequences(words, tokenizer):
    """15% of the maskable pieces predicted; of those 80% [MASK], 10% random, 10% kept, 10k rows."""
    rng, pool = np.random.default_rng(11), np.array(words)
    corpus = [[" ".join(rng.choice(pool, rng.integers(4, 20))) for _ in range(100)] for _ in range(270)]
    batch = _collect(pretraining_dataset(corpus, BertPreprocessor(tokenizer, sequence_length=128), 512, dupe_factor=4,
                                               seed=12, as_features=True))
    assert len(batch["token_ids"]) >= 10_000
    maskable = batch["padding_mask"].sum(axis=1) - 3
    weights = batch["mask_weights"]
    expected = np.minimum(20, np.maximum(1, np.round(0.15 * maskable)))
    assert (weights.sum(axis=1) == expected).all()
    assert abs(weights.sum() / maskable.sum() - 0.15) < 0.005  # rounding adds < 0.005
    rows, slots = np.nonzero(weights)
    original = batch["mask_ids"][rows, slots]
    now = batch["token_ids"][rows, batch["mask_positions"][rows, slots]]
    masked, kept = np.mean(now == tokenizer.mask_id), np.mean(now == original)
    random = now[(now != tokenizer.mask_id) & (now != original)]
    assert len(now) > 150_000  # a share's standard error is then <= 0.001
    assert abs(masked - 0.8) < 0.005 and abs(kept - 0.1) < 0.005 and abs(len(random) / len(now) - 0.1) < 0.005
    # Random tokens: uniform over the vocabulary but its [...] specials.
    vocabulary = tokenizer.get_vocabulary()
    allowed = np.array([i for i, t in enumerate(vocabulary) if not (t.startswith("[") and t.endswith("]"))])
    assert np.isin(random, allowed).all()
    quarters = np.searchsorted(allowed, random) * 4 // len(allowed)
    assert np.allclose(np.bincount(quarters, minlength=4) / len(random), 0.25, atol=0.01)
    # Each masked piece is the original at that position (the originals are the unmasked text).
    assert np.isin(original, allowed).all() and not np.isin(original, [tokenizer.mask_id]).any()


def _words(tokens):
    """Position lists of the words of a packed row: a piece and the "##" pieces right after it."""
    words, word = [], []
    for i, token in enumerate(tokens):
        if token.startswith("##") and word:
            word.append(i)
            continue
        if word:
            words.append(word)
        word = [] if token in ("[CLS]", "[SEP]", "[PAD]") else [i]
    return words + [word] * bool(word)


def test_whole_word_masking_masks_all_pieces_of_a_word(words, tokenizer):
    vocabulary = tokenizer.get_vocabulary()
    suffixes = np.array([t[2:] for t in vocabulary if t.startswith("##") and t[2:].isalpha()])
    rng = np.random.default_rng(4)
    long_words = [w + "".join(rng.choice(suffixes, rng.integers(0, 3))) for w in words]
    corpus = _corpus(long_words, 30, (40, 60), (3, 8), seed=5)
    ds = pretraining_dataset(corpus, BertPreprocessor(tokenizer, sequence_length=64), 128, max_predictions_per_seq=10,
                             whole_word_masking=True, as_features=True)
    batch = _collect(ds)
    masked = np.zeros_like(batch["token_ids"], bool)
    rows, slots = np.nonzero(batch["mask_weights"])
    masked[rows, batch["mask_positions"][rows, slots]] = True
    originals = _originals(batch)
    assert not np.isin(originals[masked], [tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id]).any()
    multi_piece_words_masked = 0
    for ids, flags in zip(originals, masked):
        for word in _words([vocabulary[t] for t in ids]):
            assert len(set(flags[word].tolist())) == 1
            multi_piece_words_masked += len(word) > 1 and flags[word[0]]
    assert multi_piece_words_masked > 100
    maskable = batch["padding_mask"].sum(axis=1) - 3
    budget = np.minimum(10, np.maximum(1, np.round(0.15 * maskable)))
    count = batch["mask_weights"].sum(axis=1)
    assert (count <= budget).all() and np.mean(count == budget) > 0.9


def test_same_seed_same_batches(short_documents, tokenizer):
    corpus, batch = short_documents
    runs = [
        _collect(pretraining_dataset(corpus[:40], BertPreprocessor(tokenizer, sequence_length=64), 16,
                                     whole_word_masking=True, seed=5, as_features=True))
        for _ in range(2)
    ]
    assert runs[0].keys() == runs[1].keys() and all((runs[0][k] == runs[1][k]).all() for k in runs[0])
    ids = _originals({key: value[:64] for key, value in batch.items()})
    masks = [mask_tokens(ids, seed, tokenizer)["mask_positions"].numpy() for seed in ([0, 1], [0, 1], [0, 2])]
    assert (masks[0] == masks[1]).all() and not (masks[0] == masks[2]).all()


def test_split_for_pretrainer(short_documents):
    _, batch = short_documents
    inputs, targets, weights = split_for_pretrainer({k: v[:8] for k, v in batch.items()})
    assert sorted(inputs) == ["mask_positions", "padding_mask", "segment_ids", "token_ids"]
    mlm, real = np.asarray(targets["mlm_logits"]), batch["mask_weights"][:8] > 0
    assert (mlm[~real] == IGNORE_LABEL).all() and (mlm[real] == batch["mask_ids"][:8][real]).all()
    assert (np.asarray(targets["nsp_logits"]) == batch["next_sentence_label"][:8]).all()
    assert (np.asarray(weights["mlm_logits"]) == batch["mask_weights"][:8]).all()
    assert (np.asarray(weights["nsp_logits"]) == 1).all()
