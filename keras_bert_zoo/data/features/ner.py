"""NER features: word tags put on wordpieces, in-graph; shared by `ner_dataset` and the token classifier's serving.

Label convention (as Hugging Face's run_ner): a word's tag goes on its first wordpiece; its other
pieces, [CLS], [SEP] and padding get `IGNORE_LABEL` (-100) and a `sample_weight` of 0. Train with
`keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_LABEL)` (the
mean over labelled tokens) and `weighted_metrics=["accuracy"]`. `word_ids` gives, per token, the
index of its word in the sentence (`NO_WORD`, -1, for [CLS], [SEP] and padding).
"""

import tensorflow as tf

from keras_bert_zoo.names import IGNORE_LABEL, NO_WORD


def tokenize_words(tokenizer, words):
    """Each of `words` (a 1-D string tensor) tokenized as a word of a sentence: byte-level BPE gets the space
    that precedes a word (as Hugging Face's `is_split_into_words` with `add_prefix_space=True`), so "Paris"
    is "ĠParis" wherever it stands; WordPiece and SentencePiece start every text with a word anyway."""
    if getattr(tokenizer, "add_prefix_space", True) is False:
        words = tf.strings.join([" ", words])
    return tokenizer(words)


@tf.autograph.experimental.do_not_convert  # plain tensor code: tracing it as is is faster
def ner_features(words, preprocessor, sequence_length=None, tag_ids=None):
    """Model inputs, `word_ids` and (with `tag_ids`) labels for a batch of pre-split sentences.

    `words`: ragged [batch, (words)] strings; `tag_ids`: ragged [batch, (words)] ints or None.
    Each word is tokenized on its own by `preprocessor.tokenizer` and packed as `preprocessor` packs
    (`sequence_length`: its own unless given). Whole words are kept up to `sequence_length - 2` pieces; the
    rest are cut (a first word longer than that alone keeps its first pieces). Returns a dict of
    [batch, sequence_length] int32 encoder inputs (`token_ids`, `padding_mask`, `segment_ids` where the
    family has them), `word_ids`, [batch]
    `cut_words` (words that lost any piece), and, with `tag_ids`, int32 `labels` and float32
    `sample_weight`. Graph-friendly: use it in `tf.data` or `tf.function`.

    >>> from keras_bert_zoo.text import BertPreprocessor, BertTokenizer
    >>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##able", "to"])
    >>> words, tags = tf.ragged.constant([["Unable", "to"]]), tf.ragged.constant([[1, 2]])
    >>> out = ner_features(words, BertPreprocessor(tokenizer), 6, tags)
    >>> out["token_ids"].numpy().tolist(), out["word_ids"].numpy().tolist()
    ([[2, 5, 6, 7, 3, 0]], [[-1, 0, 0, 1, -1, -1]])
    >>> out["labels"].numpy().tolist()
    [[-100, 1, -100, 2, -100, -100]]
    """
    tokenizer, sequence_length = preprocessor.tokenizer, sequence_length or preprocessor.sequence_length
    budget = sequence_length - 2
    num_sentences = tf.cast(words.nrows(), tf.int32)
    pieces = words.with_flat_values(tokenize_words(tokenizer, words.flat_values))  # [batch, words, pieces]
    piece_splits = tf.cast(pieces.values.row_splits, tf.int32)  # piece range of each word
    word_sentence = tf.cast(words.value_rowids(), tf.int32)
    word_in_sentence = tf.range(tf.size(word_sentence)) - tf.gather(
        tf.cast(words.row_starts(), tf.int32), word_sentence
    )
    sentence_first_piece = tf.gather(piece_splits, tf.cast(words.row_starts(), tf.int32))
    word_start = piece_splits[:-1] - tf.gather(sentence_first_piece, word_sentence)
    word_end = piece_splits[1:] - tf.gather(sentence_first_piece, word_sentence)
    cut = (word_end > budget) & (word_end > word_start)
    cut_words = tf.math.unsorted_segment_sum(tf.cast(cut, tf.int32), word_sentence, num_sentences)

    piece_word = tf.cast(pieces.values.value_rowids(), tf.int32)  # global word index of each piece
    position = tf.range(tf.size(piece_word)) - tf.gather(
        sentence_first_piece, tf.gather(word_sentence, piece_word)
    )
    keep = tf.gather(word_end <= budget, piece_word) | (
        (tf.gather(word_start, piece_word) == 0) & (position < budget)
    )
    is_first_piece = tf.range(tf.size(piece_word)) == tf.gather(piece_splits, piece_word)
    kept_word = tf.boolean_mask(piece_word, keep)
    rows = tf.gather(word_sentence, kept_word)

    def per_sentence(values):
        return tf.RaggedTensor.from_value_rowids(values, rows, nrows=num_sentences)

    def with_specials(values, fill):  # fill at [CLS], [SEP] and padding
        edge = tf.fill([num_sentences, 1], fill)
        return tf.concat([edge, per_sentence(values), edge], axis=1).to_tensor(
            fill, shape=[None, sequence_length]
        )

    packer = preprocessor.packer_for(sequence_length)
    features = packer(per_sentence(tf.boolean_mask(pieces.flat_values, keep)))
    features["word_ids"] = with_specials(tf.gather(word_in_sentence, kept_word), NO_WORD)
    features["cut_words"] = cut_words
    if tag_ids is not None:
        tag_of_piece = tf.gather(tf.cast(tag_ids.flat_values, tf.int32), piece_word)
        piece_labels = tf.where(is_first_piece, tag_of_piece, IGNORE_LABEL)
        labels = with_specials(tf.boolean_mask(piece_labels, keep), IGNORE_LABEL)
        features["labels"] = labels
        features["sample_weight"] = tf.cast(labels != IGNORE_LABEL, tf.float32)
    return features
