"""BERT pretraining data: raw text -> sentence pairs (NSP) with masked-LM targets, as BERT made it.

Follows google-research/bert's create_pretraining_data.py: documents of one sentence per line,
segments filled to `preprocessor.sequence_length - 3` pieces (a random shorter target with `short_seq_prob`),
segment B the actual continuation or, half of the time, a run of sentences from another document,
pairs cut from the longer side at a random end; then `masked_lm_prob` of the maskable pieces (all
but [CLS], [SEP], [PAD]), at most `max_predictions_per_seq`, are chosen (whole words together with
`whole_word_masking`), and 80% become [MASK], 10% a random token (never a `[...]` special),
10% stay. `next_sentence_label` is 0 when B follows A and 1 when B is random, as in BERT,
Hugging Face and `BertPretrainer`'s `nsp_logits` (class 0 = "is next").

`pair_task="sop"` makes ALBERT's sentence-order-prediction pairs instead: A and B are always two
consecutive segments of one document, in order (label 0) or, half of the time, swapped (label 1, as
Hugging Face's `sentence_order_label`); a chunk of one sentence gives no pair (ALBERT's script pairs it
with another document, a next-sentence example). The label goes where BERT's does (`nsp_logits`,
which for an ALBERT pretrainer is the SOP head).

Tokenization, packing and masking run in-graph; pairing is planned in Python on sentence lengths
only. Masking uses stateless random ops seeded by `(seed, batch index)`, so the same seed gives
the same batches (tensorflow-text's `RandomItemSelector` / `MaskValuesChooser` draw from global
random state, and the selector counts words rather than pieces for whole-word masking).

Example:
>>> from keras_bert_zoo.data import pretraining_dataset, read_pretraining_text
>>> documents = read_pretraining_text("corpus.txt")  # doctest: +SKIP
>>> ds = pretraining_dataset(documents, preprocessor, 32, whole_word_masking=True)  # doctest: +SKIP
>>> pretrainer.fit(ds)  # doctest: +SKIP
"""

import numpy as np
import tensorflow as tf

from keras_bert_zoo.data.features.masking import mask_tokens
from keras_bert_zoo.data.options import DatasetOptions, build_dataset, encoder_inputs
from keras_bert_zoo.names import IGNORE_LABEL

PAIR_TASKS = ("nsp", "sop")


def _plan_pairs(lengths, document_sizes, max_num_tokens, short_seq_prob, rng, pair_task="nsp"):
    """create_instances_from_document over every document, on sentence lengths only.

    Returns rows `(a_begin, a_end, b_begin, b_end, label)`: piece ranges into the concatenation of
    all sentences' pieces; the label is 1 for a random B (`pair_task="nsp"`) or a swapped pair ("sop").
    """
    sop = pair_task == "sop"
    starts = np.concatenate([[0], np.cumsum(lengths)])  # piece offset of each sentence
    doc_first = np.concatenate([[0], np.cumsum(document_sizes)])  # first sentence of each document
    rows = []
    for document in range(len(document_sizes)):
        end = doc_first[document + 1]
        target = max_num_tokens
        if rng.random() < short_seq_prob:
            target = int(rng.integers(2, max_num_tokens + 1))
        chunk, i, length = doc_first[document], doc_first[document], 0
        while i < end:
            length += lengths[i]
            if i == end - 1 or length >= target:
                num_sentences = i + 1 - chunk
                a_sentences = int(rng.integers(1, num_sentences)) if num_sentences >= 2 else 1
                a_begin, a_end = starts[chunk], starts[chunk + a_sentences]
                is_random = not sop and (num_sentences == 1 or rng.random() < 0.5)
                if is_random:
                    for _ in range(10):
                        other = int(rng.integers(len(document_sizes)))
                        if other != document:
                            break
                    j = int(rng.integers(doc_first[other], doc_first[other + 1]))
                    b_begin, b_target = starts[j], target - (a_end - a_begin)
                    while j < doc_first[other + 1] - 1 and starts[j + 1] - b_begin < b_target:
                        j += 1
                    b_end = starts[j + 1]
                    i = chunk + a_sentences - 1  # the unused sentences start the next chunk
                else:
                    b_begin, b_end = a_end, starts[i + 1]
                while (a_end - a_begin) + (b_end - b_begin) > max_num_tokens:  # truncate_seq_pair
                    front = rng.random() < 0.5
                    if a_end - a_begin > b_end - b_begin:
                        a_begin, a_end = (a_begin + 1, a_end) if front else (a_begin, a_end - 1)
                    else:
                        b_begin, b_end = (b_begin + 1, b_end) if front else (b_begin, b_end - 1)
                if a_end > a_begin and b_end > b_begin:  # (for "sop", B is empty when the chunk has one sentence)
                    if sop and rng.random() < 0.5:  # the same two segments, swapped
                        rows.append((b_begin, b_end, a_begin, a_end, 1))
                    else:
                        rows.append((a_begin, a_end, b_begin, b_end, int(is_random)))
                chunk, length = i + 1, 0
            i += 1
    return rows



def pretraining_dataset(
    documents, preprocessor, batch_size, *, max_predictions_per_seq=20, masked_lm_prob=0.15, short_seq_prob=0.1,
    whole_word_masking=False, dupe_factor=1, seed=0, as_features=False, pair_task="nsp", **options,
):
    """Batches of `(inputs, targets, sample_weight)` for `BertPretrainer.fit` (see `split_for_pretrainer`).

    `documents`: lists of sentences (see `read_pretraining_text`), tokenized by
    `preprocessor.tokenizer` into pairs of `preprocessor.sequence_length` pieces. All sentences are
    tokenized in-graph up front (their pieces stay in memory, as in BERT's script); `dupe_factor`
    plans the pairs that many times. Pairs are shuffled once; the same `seed` gives the same
    batches. Masking happens per batch, after batching (and bucketing), seeded by
    `(seed, batch number)`. With `as_features=True` each batch is instead one dict of
    `token_ids`, `segment_ids`, `padding_mask`, `mask_positions`, `mask_ids`, `mask_weights` and
    `next_sentence_label` (0 = B follows A, 1 = B random), which `split_for_pretrainer` splits.
    `pair_task`: "nsp" (BERT's next-sentence pairs) or "sop" (ALBERT's sentence-order pairs: 1 = swapped).
    `options`: the other `DatasetOptions` fields (`shuffle` (again every epoch),
    `bucket_by_sequence_length`, `cache` (of the packed pairs, before masking), `max_examples`
    (pairs), `input_context`, ...; see `keras_bert_zoo.data.options`).
    """
    if pair_task not in PAIR_TASKS:
        raise ValueError(f"pair_task must be one of {PAIR_TASKS}, got {pair_task!r}.")
    options = DatasetOptions(batch_size=batch_size, seed=seed, **options)
    tokenizer, max_seq_length = preprocessor.tokenizer, preprocessor.sequence_length
    documents = [document for document in documents if document]
    sentences = [sentence for document in documents for sentence in document]
    if not sentences:
        raise ValueError("No documents with sentences were given.")
    pieces = tf.data.Dataset.from_tensor_slices(tf.constant(sentences, tf.string)).batch(4096)
    pieces = [tokenizer(batch) for batch in pieces]
    lengths = np.concatenate([p.row_lengths().numpy() for p in pieces])
    flat_ids = tf.concat([p.flat_values for p in pieces], axis=0)
    rng = np.random.default_rng(seed)
    sizes = [len(document) for document in documents]
    rows = [
        row for _ in range(dupe_factor)
        for row in _plan_pairs(lengths, sizes, max_seq_length - 2 - preprocessor.pair_separators, short_seq_prob, rng,
                               pair_task)
    ]
    if not rows:
        raise ValueError("The documents give no sentence pair: they hold no text with wordpieces.")
    rows = np.asarray(rows, np.int32)[rng.permutation(len(rows))]
    packer = preprocessor.packer_for(max_seq_length)

    def encode(rows):
        a = tf.gather(flat_ids, tf.ragged.range(rows[:, 0], rows[:, 1]))
        b = tf.gather(flat_ids, tf.ragged.range(rows[:, 2], rows[:, 3]))
        return {**packer((a, b)), "next_sentence_label": rows[:, 4]}

    def to_model(features, index):
        masked = mask_tokens(
            features["token_ids"], tf.stack([tf.constant(seed, tf.int64), index]), tokenizer,
            max_predictions_per_seq, masked_lm_prob, whole_word_masking,
        )
        features = {**features, **masked}
        return features if as_features else split_for_pretrainer(features)

    return build_dataset(
        tf.data.Dataset.from_tensor_slices(rows), len(rows), encode, to_model, options,
        sequence_keys={"token_ids": tokenizer.pad_id, "segment_ids": 0, "padding_mask": 0},
        pad_to=max_seq_length, batch_index=True,
    )


def split_for_pretrainer(features):
    """A `pretraining_dataset(..., as_features=True)` batch -> `(inputs, targets, sample_weight)`, as
    `pretraining_dataset` yields by default, for `BertPretrainer.fit`.

    Targets: `mlm_logits` <- `mask_ids`, with `IGNORE_LABEL` (-100) where `mask_weights` is 0, and
    `nsp_logits` <- `next_sentence_label`. Compile `mlm_logits` with
    `SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_LABEL)` (BERT's mean over
    real predictions), `nsp_logits` without `ignore_class`; sample weights serve `weighted_metrics`.
    """
    inputs = {**encoder_inputs(features), "mask_positions": features["mask_positions"]}
    mlm_targets = tf.where(features["mask_weights"] > 0, features["mask_ids"], IGNORE_LABEL)
    targets = {"mlm_logits": mlm_targets, "nsp_logits": features["next_sentence_label"]}
    weights = {"mlm_logits": features["mask_weights"],
               "nsp_logits": tf.ones_like(features["next_sentence_label"], tf.float32)}
    return inputs, targets, weights
