"""BERTSum extractive summarization: the sentence-scoring head, packing, oracle labels, trigram blocking, the
shipped BBC data and the recipe end to end."""

import gzip
import hashlib
import itertools
import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import check_task

import keras_bert_zoo as kbz
from keras_bert_zoo.data.summarization import (
    SENTENCE_MASK,
    SENTENCE_POSITIONS,
    article_headline,
    article_sentences,
    pack_sentences,
    pad_documents,
    read_articles,
    split_articles,
)
from keras_bert_zoo.data.summarization_oracle import oracle_selection, rouge, select_sentences
from keras_bert_zoo.models.extractive_summarizer import MASKED_LOGIT, BertExtractiveSummarizer

ROOT = Path(__file__).parents[1]
DATA = ROOT / "recipes" / "data" / "bbc_news_summary"
TINY = {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 32, "intermediate_dim": 64}


def document_batch():
    """Two packed documents of 12 tokens: 3 and 2 sentences, the second padded."""
    ids = np.random.default_rng(0).integers(5, 100, (2, 12)).astype("int32")
    padding = np.array([[1] * 12, [1] * 8 + [0] * 4], "int32")
    return {"token_ids": ids * padding, "segment_ids": np.zeros_like(ids), "padding_mask": padding,
            SENTENCE_POSITIONS: np.array([[0, 4, 8], [0, 5, 0]], "int32"),
            SENTENCE_MASK: np.array([[1, 1, 1], [1, 1, 0]], "int32")}


@pytest.fixture(scope="module")
def summarizer():
    keras.utils.set_random_seed(0)
    return BertExtractiveSummarizer(kbz.BertEncoder(**TINY), dropout=0.0)


@pytest.fixture(scope="module")
def preprocessor():
    return kbz.load_preprocessor("bert_tiny_uncased", sequence_length=16)


def test_head_scores_each_sentence_and_masks_padded_slots(summarizer):
    inputs = document_batch()
    logits = np.asarray(summarizer(inputs))
    assert logits.shape == (2, 3) and logits.dtype == np.float32
    assert logits[1, 2] == MASKED_LOGIT and np.all(np.abs(logits[inputs[SENTENCE_MASK] == 1]) < 100)
    assert len({float(x) for x in logits[0]}) == 3  # each sentence its own score
    moved = dict(inputs, **{SENTENCE_POSITIONS: np.array([[0, 4, 8], [0, 5, 7]], "int32")})
    np.testing.assert_array_equal(np.asarray(summarizer(moved)), logits)  # a padded slot is never attended to
    other = dict(inputs, **{SENTENCE_POSITIONS: np.array([[0, 8, 4], [0, 5, 0]], "int32")})
    assert not np.allclose(np.asarray(summarizer(other))[0], logits[0])  # it reads the [CLS] it is given


def test_keras_file_round_trip_and_mixed_precision(preprocessor):
    """The task contract: config and .keras round trips (preprocessor inside), float32 logits in mixed precision."""
    keras.utils.set_random_seed(1)
    model = BertExtractiveSummarizer(kbz.BertEncoder(**TINY), num_layers=1, preprocessor=preprocessor)
    logits = check_task(model, document_batch())
    assert float(logits[1, 2]) == MASKED_LOGIT


def _brute_force_oracle(sentences, reference):
    """The greedy oracle with rouge-score's scorer on every candidate selection, and the best selection of all."""
    def score(selection):
        scores = rouge(" ".join(sentences[i] for i in sorted(selection)), reference)
        return scores["rouge1"] + scores["rouge2"]

    chosen = []
    while True:
        gains = [(score(chosen + [i]), -i) for i in range(len(sentences)) if i not in chosen]
        if not gains or max(gains)[0] <= (score(chosen) if chosen else 0.0):
            break
        chosen.append(-max(gains)[1])
    subsets = [s for n in range(1, len(sentences) + 1) for s in itertools.combinations(range(len(sentences)), n)]
    return sorted(chosen), list(max(subsets, key=score))


def test_oracle_labels_equal_a_brute_force_over_rouge_score():
    sentences = ["The bank raised rates to 5%.", "Markets fell on the news.", "The bank said rates may rise again.",
                 "It was sunny in London.", "Shares in the bank fell 3% after the rates news.", "Markets fell."]
    reference = "The bank raised rates to 5%.Shares in the bank fell 3% after the rates news.Markets fell on the news."
    greedy, best = _brute_force_oracle(sentences, reference)
    assert oracle_selection(sentences, reference) == greedy == best == [0, 1, 4]
    assert oracle_selection(sentences, reference, max_sentences=1) == [4]  # the longest match first
    # Repeated words and cross-sentence bigrams: clipping and joining exactly as rouge-score scores them.
    sentences = ["a b a b", "b a", "c d c", "a b", "d c a"]
    for reference in ("a b a b c d", "d c a b a", "b a b a c"):
        assert oracle_selection(sentences, reference) == _brute_force_oracle(sentences, reference)[0], reference
    assert oracle_selection(["x y"], "a b") == []


def test_trigram_blocking_skips_a_sentence_that_repeats_a_chosen_trigram():
    sentences = ["the cat sat on the mat", "the cat sat down", "a dog ran off", "on the mat again", "birds sang"]
    scores = [0.9, 0.8, 0.7, 0.6, 0.1]
    assert select_sentences(scores, sentences, k=3) == [0, 2, 4]  # 1 shares "the cat sat", 3 "on the mat"
    assert select_sentences(scores, sentences, k=1) == [0]
    assert select_sentences(scores, sentences, k=3, trigram_blocking=False) == [0, 1, 2]
    assert select_sentences([0.1, 0.2], ["one two", "three four"], k=3) == [0, 1]  # fewer than k: all, in order


def test_sentences_leave_the_headline_out_and_split_at_sentence_ends():
    assert article_headline("Rates rise again\n\nThe bank raised rates.") == "Rates rise again"
    article = ('Rates rise again\n\nThe bank raised rates to 5.25%. "It is needed," he said.\n\n'
               "Shares fell! Why? Mr X left.\n")
    assert article_sentences(article) == ["The bank raised rates to 5.25%.", '"It is needed," he said.',
                                          "Shares fell!", "Why?", "Mr X left."]


def test_packing_puts_cls_before_each_sentence_and_alternates_segments(preprocessor):
    tokenize = preprocessor.tokenizer
    document = pack_sentences(["hello world.", "good day.", "fine"], preprocessor, 16)
    cls, sep = tokenize.cls_id, tokenize.sep_id
    ids = document.inputs["token_ids"].tolist()
    assert document.num_sentences == 3 and document.inputs[SENTENCE_POSITIONS].tolist() == [0, 5, 10]
    assert [ids[i] for i in (0, 5, 10)] == [cls] * 3 and ids[4] == ids[9] == ids[-1] == sep
    assert document.inputs["segment_ids"].tolist() == [0] * 5 + [1] * 5 + [0] * 3
    batch = pad_documents([document, pack_sentences(["good day."], preprocessor, 16)], 16)
    assert batch[SENTENCE_MASK].tolist() == [[1, 1, 1], [1, 0, 0]] and batch["token_ids"].shape == (2, 16)
    assert batch["padding_mask"][1].tolist() == [1] * 5 + [0] * 11
    titled = pack_sentences(["hello world.", "good day."], preprocessor, 16, headline="news")
    assert titled.num_sentences == 2 and titled.inputs[SENTENCE_POSITIONS].tolist() == [3, 8]  # not the headline
    assert titled.inputs["token_ids"].tolist()[:4] == [cls, *tokenize(["news"]).to_list()[0], sep, cls]
    assert titled.inputs["segment_ids"].tolist() == [0] * 3 + [1] * 5 + [0] * 5


def test_packing_never_cuts_a_sentence_but_the_first_when_it_alone_is_too_long(preprocessor):
    # 5 + 5 tokens fit in 12; the third sentence (3 tokens) would need 13: it and the rest are left out whole.
    document = pack_sentences(["hello world.", "good day.", "fine", "ok"], preprocessor, 12)
    assert document.num_sentences == 2 and len(document.inputs["token_ids"]) == 10
    first = pack_sentences(["one two three four five six seven eight nine ten", "ok"], preprocessor, 8)
    assert first.num_sentences == 1 and len(first.inputs["token_ids"]) == 8  # [CLS] 6 tokens [SEP]
    titled = pack_sentences(["one two three four five six seven eight nine ten"], preprocessor, 8, headline="news")
    assert titled.num_sentences == 1 and titled.inputs[SENTENCE_POSITIONS].tolist() == [3]  # cut to the room left
    assert len(titled.inputs["token_ids"]) == 8
    with pytest.raises(ValueError, match="no sentences"):
        pack_sentences([], preprocessor, 8)


def test_shipped_data_is_the_shared_file_and_splits_after_deduplication():
    source = (DATA / "SOURCE.md").read_text()
    digest = hashlib.sha256((DATA / "bbc_news_summary.jsonl.gz").read_bytes()).hexdigest()
    assert digest in source
    raw = gzip.decompress((DATA / "bbc_news_summary.jsonl.gz").read_bytes())
    assert hashlib.sha256(raw).hexdigest() in source  # the shared jsonl's own sha256, unchanged inside
    rows = read_articles(DATA / "bbc_news_summary.jsonl.gz")
    train, dev, test, duplicates = split_articles(rows, seed=0)
    assert (len(rows), duplicates, len(train), len(dev), len(test)) == (2225, 98, 1827, 100, 200)
    texts = [{row["article"] for row in split} for split in (train, dev, test)]
    assert sum(map(len, texts)) == 2127 and not (texts[0] & texts[1] or texts[0] & texts[2] or texts[1] & texts[2])
    assert [row["id"] for row in split_articles(rows, seed=0)[2]] == [row["id"] for row in test]  # seeded


def test_bad_files_are_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"article": "a", "summary": "b"}) + "\n{oops\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}:2: not JSON")):
        read_articles(path)
    path.write_text(json.dumps({"article": "a"}) + "\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}:1: no string 'summary'")):
        read_articles(path)
    with pytest.raises(ValueError, match="distinct articles leave none to train"):
        split_articles([{"article": "a"}, {"article": "a"}, {"article": "b"}], dev_size=1, test_size=1)


@pytest.mark.slow
def test_summarize_extractive_recipe_trains_and_prints_rouge_last(tmp_path, run_recipe):
    lines = run_recipe(ROOT / "recipes" / "summarize_extractive.py", "--checkpoint", "bert_tiny_uncased",
                       "--random-init", "--max-train-examples", "16", "--dev-size", "8", "--test-size", "8",
                       "--sequence-length", "64", "--epochs", "1", "--model-dir", tmp_path / "run")
    assert lines[0] == "data: 98 duplicate articles dropped; 2,111 train, 8 dev, 8 test articles"
    number = r"(\d\.\d{4})"
    scores = {}
    for line in lines[-3:]:
        match = re.fullmatch(rf" *(model|Lead-3|oracle): ROUGE-1 {number}  ROUGE-2 {number}  ROUGE-L {number}", line)
        assert match, line
        scores[match[1]] = [float(value) for value in match.groups()[1:]]
    assert scores["oracle"][1] > max(scores["model"][1], scores["Lead-3"][1]) > 0.05
    dev_choice = r"trigram blocking (on|off): dev ROUGE-2 (\d\.\d{4}) with it, (\d\.\d{4}) without"
    choice = [match for match in (re.fullmatch(dev_choice, line) for line in lines) if match]
    assert len(choice) == 1 and (choice[0][1] == "on") == (float(choice[0][2]) >= float(choice[0][3]))
    model = kbz.load(tmp_path / "run" / "last.keras")
    assert isinstance(model, BertExtractiveSummarizer) and model.preprocessor is not None
