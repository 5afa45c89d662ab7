"""BERT's masked-LM corruption, in-graph and stateless (seeded per batch); used by `pretraining_dataset`.

80% of the chosen pieces become [MASK], 10% a random token (never a special: `[...]` or `<...>`, as
`[unused0]`, `<s>`, `<|endoftext|>`), 10% stay (see `keras_bert_zoo.data.pretraining`). Works for every
family's tokenizer: its special ids and how its pieces continue a word (WordPiece's "##"; byte-level BPE and
SentencePiece mark a word's first piece instead, with "Ġ" and "▁").
"""

import re

import tensorflow as tf

from keras_bert_zoo.text import BertTokenizer

_SPECIAL = re.compile(r"^(\[[^\]\s]+\]|<[^>\s]+>)$")
_WORD_START = ("\u0120", "\u2581")  # "Ġ" (byte-level BPE's space), "▁" (SentencePiece's)


def _continues_word(token, wordpiece):
    return token.startswith("##") if wordpiece else not token.startswith(_WORD_START)


@tf.autograph.experimental.do_not_convert  # plain tensor code: tracing it as is is faster
def mask_tokens(
    token_ids, seed, tokenizer, max_predictions_per_seq=20, masked_lm_prob=0.15, whole_word_masking=False
):
    """BERT's masked-LM corruption of packed `token_ids` [batch, seq], in-graph and stateless.

    `seed`: shape [2] int tensor. Each row gets `min(max_predictions_per_seq,
    max(1, round(masked_lm_prob * maskable pieces)))` predictions; with `whole_word_masking`, words
    in random order are taken while they fit (as BERT does). Returns a dict of `token_ids` (masked),
    `mask_positions`, `mask_ids` [batch, max_predictions_per_seq] int32 and `mask_weights` float32
    (1.0 for real predictions; positions sorted, padding 0).

    >>> from keras_bert_zoo.text import BertTokenizer
    >>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##b"])
    >>> out = mask_tokens([[2, 5, 6, 5, 6, 3, 0]], [1, 2], tokenizer, 3, 0.5, whole_word_masking=True)
    >>> out["mask_weights"].numpy().tolist()  # 4 maskable pieces * 0.5: one word of two pieces
    [[1.0, 1.0, 0.0]]
    >>> out["mask_ids"].numpy().tolist()
    [[5, 6, 0]]
    """
    vocabulary = tokenizer.get_vocabulary()
    wordpiece = isinstance(tokenizer, BertTokenizer)
    is_continuation = tf.constant([_continues_word(token, wordpiece) for token in vocabulary])
    specials = {tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id, tokenizer.mask_id, tokenizer.unk_id}
    replacements = tf.constant(
        [i for i, t in enumerate(vocabulary) if not _SPECIAL.match(t) and i not in specials], tf.int32)
    token_ids = tf.cast(token_ids, tf.int32)
    batch, length = tf.shape(token_ids)[0], tf.shape(token_ids)[1]
    maskable = (
        (token_ids != tokenizer.cls_id) & (token_ids != tokenizer.sep_id) & (token_ids != tokenizer.pad_id)
    )
    starts = maskable
    if whole_word_masking:
        previous = tf.pad(maskable[:, :-1], [[0, 0], [1, 0]])
        starts = maskable & ~(tf.gather(is_continuation, token_ids) & previous)
    unit = tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1  # word (or piece) index of each position
    segment = tf.where(maskable, unit + length * tf.range(batch)[:, None], batch * length)
    unit_length = tf.math.unsorted_segment_sum(tf.ones_like(segment), segment, batch * length + 1)
    unit_length = tf.reshape(unit_length[:-1], [batch, length])  # pieces of each unit
    num_maskable = tf.reduce_sum(tf.cast(maskable, tf.float32), axis=1)
    budget = tf.minimum(tf.round(num_maskable * masked_lm_prob), float(max_predictions_per_seq))
    budget = tf.cast(tf.minimum(tf.maximum(budget, 1.0), num_maskable), tf.int32)

    order_seed, kind_seed, random_seed = tf.unstack(tf.random.split(seed, 3))
    scores = tf.random.stateless_uniform([batch, length], order_seed)
    order = tf.argsort(tf.where(unit_length > 0, scores, 2.0), axis=1)  # real units first, shuffled

    if whole_word_masking:  # take words in random order while they fit, as BERT does

        def take(state, unit_lengths):  # one column of units in random order, all rows at once
            count, _ = state
            fits = (unit_lengths > 0) & (count + unit_lengths <= budget)
            return count + tf.where(fits, unit_lengths, 0), fits

        ordered_lengths = tf.transpose(tf.gather(unit_length, order, batch_dims=1))
        initial = (tf.zeros([batch], tf.int32), tf.zeros([batch], tf.bool))
        taken = tf.transpose(tf.scan(take, ordered_lengths, initial)[1])
    else:  # single pieces: the first `budget` in random order
        taken = tf.range(length)[None, :] < budget[:, None]
    taken = tf.gather(taken, tf.argsort(order, axis=1), batch_dims=1)  # by unit index
    selected = maskable & tf.gather(taken, tf.maximum(unit, 0), batch_dims=1)

    kind = tf.random.stateless_uniform([batch, length], kind_seed)
    random_tokens = tf.gather(replacements, tf.random.stateless_uniform(
        [batch, length], random_seed, maxval=tf.size(replacements), dtype=tf.int32
    ))
    corrupted = tf.where(kind < 0.8, tokenizer.mask_id, tf.where(kind < 0.9, random_tokens, token_ids))
    positions = tf.ragged.boolean_mask(tf.broadcast_to(tf.range(length), [batch, length]), selected)
    shape = [None, max_predictions_per_seq]
    return {
        "token_ids": tf.where(selected, corrupted, token_ids),
        "mask_positions": positions.to_tensor(0, shape=shape),
        "mask_ids": tf.ragged.boolean_mask(token_ids, selected).to_tensor(0, shape=shape),
        "mask_weights": tf.ones_like(positions, tf.float32).to_tensor(0.0, shape=shape),
    }
