"""BertTokenizer: BERT's WordPiece tokenizer as a Keras layer that runs in-graph.

It runs tensorflow-text's `FastBertNormalizer` and `FastWordpieceTokenizer` (the two halves of
`FastBertTokenizer`; TFLite kernels exist for both), with a normalizer table of our own:
tensorflow-text's built-in one applies NFKC case folding, which differs from BERT's (and
Hugging Face's) "strip accents, then lowercase" on thousands of characters (ß, ², ﬁ, fullwidth
forms, math letters ...). `keras_bert_zoo.text.normalizer` builds the per-character table that
reproduces Hugging Face's `BertNormalizer`, in the flatbuffer format `FastBertNormalizer` reads.

Example:
>>> import keras_bert_zoo as kbz
>>> tokenizer = kbz.load_tokenizer("bert_tiny_uncased")
>>> tokenizer(["Héllo, world!"]).to_list()
[[7592, 1010, 2088, 999]]
>>> tokenizer.detokenize([[7592, 1010, 2088, 999]]).numpy().tolist()
[b'hello , world !']
"""

import json
import re
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
import tensorflow_text as text

from keras_bert_zoo.text.normalizer import bert_normalizer_model
from keras_bert_zoo.vocabulary import read_vocabulary

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
VOCABULARY_ASSET = "vocabulary.txt"
# Hugging Face's WordPiece turns a word of more than this many characters into one [UNK].
MAX_CHARS_PER_WORD = 100


def is_uncased_vocabulary(vocabulary):
    """True if no token other than the `[XXX]` specials changes when lowercased."""
    special = re.compile(r"^\[[^\]]+\]$")
    return not any(t != t.lower() and not special.match(t) for t in read_vocabulary(vocabulary))


def checkpoint_vocabulary(path):
    """Returns `(vocab.txt path, lowercase)` for a Hugging Face or Google BERT checkpoint folder.

    Casing comes from `do_lower_case` in `tokenizer_config.json` where present, otherwise it is
    inferred from the vocabulary (`is_uncased_vocabulary`). `path` may also be a file inside the
    folder, e.g. a Google checkpoint prefix `.../bert_model.ckpt`.
    """
    folder = Path(path)
    if not folder.is_dir():
        folder = folder.parent
    vocab_file = folder / "vocab.txt"
    if not vocab_file.is_file():
        raise FileNotFoundError(f"No vocab.txt in checkpoint folder {folder}.")
    config_file = folder / "tokenizer_config.json"
    if config_file.is_file():
        config = json.loads(config_file.read_text(encoding="utf-8"))
        if "do_lower_case" in config:
            return vocab_file, bool(config["do_lower_case"])
    return vocab_file, is_uncased_vocabulary(vocab_file)


def _uint8_tensor(buffer):
    return tf.constant(np.frombuffer(buffer, dtype=np.uint8))


# --- The layer ------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertTokenizer(keras.layers.Layer):
    """BERT WordPiece tokenizer: strings -> ragged int32 wordpiece ids, in-graph.

    Matches Hugging Face's `BertTokenizerFast` (without the added [CLS]/[SEP]): clean-up of control
    and format characters, CJK splitting, optional lowercasing with accent stripping, whitespace and
    punctuation splitting, greedy WordPiece with a 100-character word limit. Special tokens written
    in the text (e.g. "[MASK]") are tokenized as text. Works eagerly, in `tf.function`, `tf.data`
    and exported SavedModels. Invalid UTF-8 is not an error: each bad byte run reads as U+FFFD,
    which BERT's normalization drops (as Hugging Face does with U+FFFD); offsets still index the
    original bytes.

    Args:
        vocabulary: path of a vocab.txt (one token a line) or a list of tokens. It must contain
            [PAD], [UNK], [CLS], [SEP] and [MASK].
        lowercase: lowercase and strip accents (uncased models) or not (cased models).

    Example:
    >>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##able"])
    >>> tokenizer(["Unable"]).to_list()
    [[5, 6]]
    """

    def __init__(self, vocabulary=None, lowercase=True, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False  # inputs are strings, not float tensors
        self._allow_non_tensor_positional_args = True
        self.built = True
        self.lowercase = bool(lowercase)
        self._vocabulary = None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    def set_vocabulary(self, vocabulary):
        """Sets the vocabulary (a vocab.txt path or a list of tokens); a `.keras` load calls it with the asset."""
        self._vocabulary = read_vocabulary(vocabulary)
        self._token_to_id = {token: i for i, token in enumerate(self._vocabulary)}
        missing = [t for t in SPECIAL_TOKENS if t not in self._token_to_id]
        if missing:
            raise ValueError(f"The vocabulary lacks the special tokens {missing}.")
        self._normalizer = text.FastBertNormalizer(
            model_buffer=_uint8_tensor(bert_normalizer_model(self.lowercase))
        )
        # 4 bytes per character at most: FastWordpiece's byte limit never cuts a word that
        # Hugging Face keeps; `_limit_word_length` applies the character limit afterwards.
        wordpiece_model = text.build_fast_wordpiece_model(
            list(self._vocabulary), 4 * MAX_CHARS_PER_WORD, "##", "[UNK]", False, True
        )
        self._wordpiece = text.FastWordpieceTokenizer(
            model_buffer=_uint8_tensor(wordpiece_model), token_out_type=tf.int32
        )
        self._starts_word = tf.constant([not t.startswith("##") for t in self._vocabulary])
        self._num_chars = tf.constant(
            [len(t) - 2 if t.startswith("##") else len(t) for t in self._vocabulary], tf.int32
        )

    def save_assets(self, dir_path):
        """The vocabulary goes into a `.keras` file as `vocabulary.txt`, not into its config JSON."""
        text = "".join(token + "\n" for token in self._checked_vocabulary())
        (Path(dir_path) / VOCABULARY_ASSET).write_text(text, encoding="utf-8")

    def load_assets(self, dir_path):
        self.set_vocabulary(Path(dir_path) / VOCABULARY_ASSET)

    def _checked_vocabulary(self):
        if self._vocabulary is None:
            raise ValueError("This BertTokenizer has no vocabulary yet: pass one, or call set_vocabulary.")
        return self._vocabulary

    @property
    def vocabulary_size(self):
        return len(self._checked_vocabulary())

    def get_vocabulary(self):
        return list(self._checked_vocabulary())

    def token_to_id(self, token):
        if token not in self._token_to_id:
            raise KeyError(f"Token {token!r} is not in the vocabulary.")
        return self._token_to_id[token]

    def id_to_token(self, token_id):
        return self._vocabulary[token_id]

    pad_id = property(lambda self: self._token_to_id["[PAD]"])
    unk_id = property(lambda self: self._token_to_id["[UNK]"])
    cls_id = property(lambda self: self._token_to_id["[CLS]"])
    sep_id = property(lambda self: self._token_to_id["[SEP]"])
    mask_id = property(lambda self: self._token_to_id["[MASK]"])

    def call(self, inputs):
        """Strings -> wordpiece ids: a scalar gives a 1-D Tensor, a batch [batch, None] ragged."""
        self._checked_vocabulary()
        inputs, scalar = _as_string_batch(inputs)
        ids = self._wordpiece.tokenize(self._normalizer.normalize(inputs))
        ids = self._limit_word_length(ids)[0]
        return ids[0] if scalar else ids

    def tokenize_with_offsets(self, inputs):
        """Returns `(ids, begin, end)`, begin/end the byte span of each wordpiece in the input.

        A span covers the original characters the wordpiece came from, as Hugging Face's offsets
        do (e.g. "각" uncased gives three jamo pieces, each spanning the whole syllable).
        """
        inputs, scalar = _as_string_batch(inputs)
        normalized, source = self._normalizer.normalize_with_offsets(inputs)
        ids, starts, ends = self._wordpiece.tokenize_with_offsets(normalized)
        rows = ragged_value_rowids(ids)
        # `source` maps each normalized byte to a source byte; look up each piece's first and last.
        row_start = tf.gather(source.row_splits, rows)
        begin = tf.gather(source.flat_values, row_start + starts.flat_values)
        last = tf.gather(source.flat_values, row_start + ends.flat_values - 1)
        end = last + _char_length_at(inputs, rows, last)
        outputs = self._limit_word_length(ids, tf.cast(begin, tf.int32), tf.cast(end, tf.int32))
        return tuple(t[0] for t in outputs) if scalar else outputs

    def _limit_word_length(self, ids, *offsets):
        """Replaces each word longer than MAX_CHARS_PER_WORD characters by one [UNK].

        `offsets` is empty or the flat `(begin, end)` of each piece; the [UNK] spans the word.
        """
        flat_ids = ids.flat_values
        starts = tf.gather(self._starts_word, flat_ids)
        word = tf.cumsum(tf.cast(starts, tf.int32)) - 1  # a row's first piece always starts a word
        num_words = tf.reduce_sum(tf.cast(starts, tf.int32))
        chars = tf.math.unsorted_segment_sum(tf.gather(self._num_chars, flat_ids), word, num_words)
        too_long = tf.gather(chars > MAX_CHARS_PER_WORD, word)
        values = [tf.where(too_long, self.unk_id, flat_ids)]
        if offsets:
            begin, end = offsets
            word_end = tf.math.unsorted_segment_max(end, word, num_words)
            values += [begin, tf.where(too_long, tf.gather(word_end, word), end)]
        keep = starts | ~too_long
        kept_before = tf.concat([[0], tf.cumsum(tf.cast(keep, ids.row_splits.dtype))], axis=0)
        row_splits = tf.gather(kept_before, ids.row_splits)
        kept_index = tf.reshape(tf.where(keep), [-1])  # not boolean_mask: slow eagerly
        return tuple(
            tf.RaggedTensor.from_row_splits(tf.gather(v, kept_index), row_splits, validate=False)
            for v in values
        )

    def detokenize(self, ids):
        """Wordpiece ids (dense or ragged, int) -> strings: "##" pieces joined, words spaced."""
        return self._wordpiece.detokenize(ids)

    def get_config(self):
        config = super().get_config()
        # The vocabulary is an asset (`save_assets`): a .keras file's config stays small.
        config.update({"vocabulary": None, "lowercase": self.lowercase})
        return config


def _as_string_batch(inputs):
    """Returns `(rank-1 string tensor, whether the input was a scalar)`."""
    inputs = tf.convert_to_tensor(inputs, dtype=tf.string)
    if inputs.shape.rank not in (0, 1):
        raise ValueError(f"BertTokenizer takes a string or a 1-D batch, not shape {inputs.shape}.")
    return (inputs[tf.newaxis], True) if inputs.shape.rank == 0 else (inputs, False)


def ragged_value_rowids(ragged):
    """`ragged.value_rowids()` of a 2-D ragged tensor in three plain ops: memory linear in its values
    (`value_rowids()` builds a [rows, longest row] mask) and far cheaper eagerly."""
    inner_splits = ragged.row_splits[1:-1, tf.newaxis]
    ones = tf.ones_like(inner_splits[:, 0])
    row_starts = tf.scatter_nd(inner_splits, ones, ragged.row_splits[-1:] + 1)
    return tf.reshape(tf.cumsum(row_starts)[:-1], [-1])  # rank 1 also when traced


def _char_length_at(strings, rows, positions):
    """UTF-8 length of the character whose lead byte is `strings[rows][positions]` (else 1)."""
    lengths = tf.cast(tf.strings.length(strings), rows.dtype)
    raw = tf.io.decode_raw(tf.strings.reduce_join(strings), tf.uint8)  # all bytes, memory linear in them
    byte = tf.gather(raw, tf.gather(tf.cumsum(lengths, exclusive=True), rows) + positions)
    # Lead bytes 110xxxxx, 1110xxxx, 11110xxx start 2-, 3- and 4-byte characters.
    return 1 + sum(tf.cast(byte >= lead, positions.dtype) for lead in (0xC0, 0xE0, 0xF0))
