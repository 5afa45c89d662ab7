"""Extractive summarization data (BERTSum): articles -> sentences -> "[CLS] s1 [SEP] [CLS] s2 [SEP] ..." inputs.

Articles are BBC-style JSON lines ({"id", "article", "summary"}): the article's first line is its headline,
which the reference summaries never contain, so `article_sentences` leaves it out. `split_articles` drops
articles whose text repeats an earlier one before a seeded split, so no text is in two splits.

Example:
>>> article_sentences("Headline\\n\\nPrices rose 2.5% in May. Analysts said \\"it was expected.\\" Bonds fell.")
['Prices rose 2.5% in May.', 'Analysts said "it was expected."', 'Bonds fell.']
"""

import gzip
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_bert_zoo.models.extractive_summarizer import SENTENCE_MASK, SENTENCE_POSITIONS
from keras_bert_zoo.names import PADDING_MASK, SEGMENT_IDS, TOKEN_IDS

# Written by hand (nltk's punkt would need a data download): a sentence ends at . ! or ? (then any closing
# quotes or brackets) before white space and a capital, digit, currency sign or opening quote.
_SENTENCE_END = re.compile(r"""([.!?]+["'”’)\]]*)\s+(?=["'“‘(\[]?[A-Z0-9£$€])""")


def read_articles(path):
    """The rows of a JSON-lines file (.jsonl or .jsonl.gz), each with "article" and "summary" strings."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    with opener(path, "rt", encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not JSON ({error.msg}).") from None
            missing = [key for key in ("article", "summary") if not isinstance(row.get(key), str)]
            if missing:
                raise ValueError(f"{path}:{number}: no string {' or '.join(map(repr, missing))}.")
            rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no articles.")
    return rows


def split_articles(rows, seed=0, dev_size=100, test_size=200):
    """(train, dev, test) lists of rows: exact duplicate article texts dropped first (the first kept), then a
    seeded shuffle; returns also the number of duplicates dropped.

    >>> rows = [{"article": text} for text in "abcadb"]
    >>> train, dev, test, duplicates = split_articles(rows, dev_size=1, test_size=1)
    >>> len(train), len(dev), len(test), duplicates
    (2, 1, 1, 2)
    """
    seen, unique = set(), []
    for row in rows:
        if row["article"] not in seen:
            seen.add(row["article"])
            unique.append(row)
    if dev_size + test_size >= len(unique):
        raise ValueError(f"{len(unique)} distinct articles leave none to train on after {dev_size} dev and "
                         f"{test_size} test articles.")
    random.Random(seed).shuffle(unique)
    test, dev, train = unique[:test_size], unique[test_size:test_size + dev_size], unique[test_size + dev_size:]
    return train, dev, test, len(rows) - len(unique)


def article_headline(article):
    """The article's first line, its headline."""
    return article.split("\n", 1)[0].strip()


def article_sentences(article):
    """The body's sentences (the first line, the headline, left out), each paragraph split at sentence ends."""
    body = article.split("\n", 1)[1] if "\n" in article else ""
    sentences = []
    for paragraph in body.split("\n"):
        sentences += [s.strip() for s in _SENTENCE_END.sub("\\1\n", paragraph.strip()).split("\n") if s.strip()]
    return sentences


@dataclass
class PackedDocument:
    """One article packed for `BertExtractiveSummarizer`: its `inputs` (unpadded numpy int32 arrays: token_ids,
    segment_ids (when the family has them), padding_mask, sentence_positions) and `num_sentences`, the
    sentences that fit (the first ones; the others are not in the inputs)."""

    inputs: dict
    num_sentences: int


def pack_sentences(sentences, preprocessor, sequence_length, headline=None):
    """Packs whole sentences, "[CLS] s1 [SEP] [CLS] s2 [SEP] ...", with the family's [CLS]/[SEP] tokens and
    segment ids alternating 0, 1, 0, ... per sentence, as BERTSum does. A `headline` goes first as one more
    segment, "[CLS] headline [SEP]", that is context only: it is not one of the sentences.

    Truncation never cuts a sentence silently: packing stops before the first sentence that does not fit
    whole, and `num_sentences` says how many went in (the rest of the article is left out and cannot be
    selected). Only a headline or first sentence longer than the room left is cut to fit.
    """
    if not sentences:
        raise ValueError("an article with no sentences cannot be packed.")
    tokenizer = preprocessor.tokenizer
    segments = ([headline] if headline is not None else []) + list(sentences)
    pieces = tokenizer(tf.constant(segments)).to_list()
    first_sentence = len(segments) - len(sentences)
    token_ids, segment_ids, positions = [], [], []
    for index, piece in enumerate(pieces):
        if index <= first_sentence:
            piece = piece[:max(0, sequence_length - len(token_ids) - 2)]
        if len(token_ids) + len(piece) + 2 > sequence_length:
            break
        if index >= first_sentence:
            positions.append(len(token_ids))
        token_ids += [tokenizer.cls_id, *piece, tokenizer.sep_id]
        segment_ids += [index % 2] * (len(piece) + 2)
    inputs = {TOKEN_IDS: np.array(token_ids, "int32"), PADDING_MASK: np.ones(len(token_ids), "int32"),
              SENTENCE_POSITIONS: np.array(positions, "int32")}
    if preprocessor.segment_ids:
        inputs[SEGMENT_IDS] = np.array(segment_ids, "int32")
    return PackedDocument(inputs, len(positions))


def pad_documents(documents, sequence_length, num_sentences=None, pad_id=0):
    """The packed documents' inputs as a dict of padded int32 arrays [documents, ...]: tokens to
    `sequence_length` (`pad_id`), sentences to `num_sentences` (default: the most any document has), with
    `sentence_mask` 1 on real sentences."""
    num_sentences = num_sentences or max(document.num_sentences for document in documents)
    batch = {}
    for name in documents[0].inputs:
        width = num_sentences if name == SENTENCE_POSITIONS else sequence_length
        fill = pad_id if name == TOKEN_IDS else 0
        batch[name] = np.full((len(documents), width), fill, "int32")
        for row, document in enumerate(documents):
            values = document.inputs[name][:width]
            batch[name][row, :len(values)] = values
    batch[SENTENCE_MASK] = (np.arange(num_sentences) < np.array([[d.num_sentences] for d in documents])).astype(
        "int32")
    return batch


def summarization_dataset(inputs, labels, batch_size, shuffle=False, seed=0):
    """A fit-ready tf.data pipeline of `(inputs, labels)` batches from `pad_documents`'s arrays and float32
    labels [documents, sentences] (1: in the oracle summary; padded slots 0, which the model's masked logit
    makes lossless)."""
    dataset = tf.data.Dataset.from_tensor_slices((inputs, np.asarray(labels, "float32")))
    if shuffle:
        dataset = dataset.shuffle(len(labels), seed=seed)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
