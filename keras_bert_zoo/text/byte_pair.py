"""BytePairTokenizer: byte-level BPE (GPT-2, RoBERTa) as a Keras layer that runs in-graph.

Written here rather than taken from keras-hub: its `BytePairTokenizer` fills a `MutableHashTable` cache
at call time, a resource its SavedModels cannot track (keras-hub issue 2015: "Tried to export a function
which references an 'untracked' resource"). Here everything is plain TensorFlow ops over constants built
from the two files (no lookup tables, no Python at call time), so it runs alike eagerly, in
`tf.function`, `tf.data`, SavedModels and the TF1 session loader:

1. special tokens written in the text ("<mask>" with the whitespace before it, as roberta-base's
   `tokenizer.json` says) are split off with one RE2 pattern;
2. GPT-2's pre-tokenizer `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+`
   (whose lookahead RE2 lacks) is computed from each character's class (`_pre_token_starts`), with
   Hugging Face's Unicode 16 tables (`character_classes`);
3. words of up to 15 bytes that BPE leaves as one token are looked up (`_whole_word_cache`); the
   others are merged together, vectorized over the batch: each step merges, in every word, all
   non-overlapping occurrences of that word's lowest-ranked pair, and finished words leave the loop.

Example:
>>> vocabulary = [*SPECIAL_TOKENS, *BYTE_SYMBOLS, "Ġl", "ow", "Ġlow"]
>>> tokenizer = BytePairTokenizer(vocabulary, merges=["Ġ l", "o w", "Ġl ow"])
>>> tokenizer([" low  <mask>"]).to_list()
[[263, 4]]
>>> tokenizer.detokenize([[263, 4]]).numpy().tolist()
[b' low<mask>']
"""

import functools
import json
import re
import types
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
import tensorflow_text as text

from keras_bert_zoo.errors import CheckpointError
from keras_bert_zoo.text.tokenizer import ragged_value_rowids

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
LSTRIP_TOKENS = ("<mask>",)  # RoBERTa's tokenizer.json: "<mask>" takes the whitespace before it
CACHED_BYTES = 15  # words of up to 15 bytes that are one token skip the merges (`_word_keys`)
VOCABULARY_ASSET = "vocab.json"
MERGES_ASSET = "merges.txt"


def _byte_symbols():
    """GPT-2's printable stand-in for each byte: itself if printable, else a character from U+0100 up."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = iter(range(256, 512))
    return tuple(chr(b) if b in printable else chr(next(others)) for b in range(256))


BYTE_SYMBOLS = _byte_symbols()
SPACE_SYMBOL = BYTE_SYMBOLS[ord(" ")]  # "Ġ"

# Oniguruma's \s in Hugging Face's regex: Unicode White_Space (RE2's \s is ASCII only).
WHITESPACE = r"\t\n\x{0B}\x{0C}\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}"
# Letters and digits of Unicode 15.1/16.0 that tensorflow-text's RE2 tables lack and Hugging Face's
# Oniguruma has (found by classifying every code point with both).
NEW_LETTERS = (
    r"\x{1C89}-\x{1C8A}\x{A7CB}-\x{A7CD}\x{A7DA}-\x{A7DC}\x{105C0}-\x{105F3}\x{10D4A}-\x{10D65}"
    r"\x{10D6F}-\x{10D85}\x{10EC2}-\x{10EC4}\x{11380}-\x{11389}\x{1138B}\x{1138E}\x{11390}-\x{113B5}"
    r"\x{113B7}\x{113D1}\x{113D3}\x{11BC0}-\x{11BE0}\x{13460}-\x{143FA}\x{16100}-\x{1611D}"
    r"\x{16D40}-\x{16D6C}\x{18CFF}\x{1E5D0}-\x{1E5ED}\x{1E5F0}\x{2EBF0}-\x{2EE5D}"
)
NEW_DIGITS = (
    r"\x{10D40}-\x{10D49}\x{116D0}-\x{116E3}\x{11BF0}-\x{11BF9}\x{16130}-\x{16139}\x{16D70}-\x{16D79}"
    r"\x{1CCF0}-\x{1CCF9}\x{1E5F1}-\x{1E5FA}"
)
_S, _L, _N = f"[{WHITESPACE}]", rf"[\p{{L}}{NEW_LETTERS}]", rf"[\p{{N}}{NEW_DIGITS}]"


def read_vocabulary_json(vocabulary):
    """A vocab.json path, a {token: id} dict or a sequence of tokens -> tuple of tokens, by id."""
    source = vocabulary if isinstance(vocabulary, (str, Path)) else "the vocabulary"
    if isinstance(vocabulary, (str, Path)):
        try:
            vocabulary = json.loads(Path(vocabulary).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CheckpointError(f"{source}: not a UTF-8 JSON file ({error}).") from None
    if not isinstance(vocabulary, dict):
        vocabulary = {token: i for i, token in enumerate(vocabulary)}
    if not all(isinstance(t, str) and isinstance(i, int) for t, i in vocabulary.items()):
        raise CheckpointError(f"{source}: a vocab.json maps each token (a string) to its id (an integer).")
    tokens = {i: t for t, i in vocabulary.items()}
    if sorted(tokens) != list(range(len(vocabulary))):
        raise CheckpointError(f"{source}: the ids are not 0..{len(vocabulary) - 1}, each once.")
    return tuple(tokens[i] for i in range(len(tokens)))


def read_merges(merges):
    """A merges.txt path ("#version" line, then "a b" a line) or a sequence of "a b" / (a, b) -> pairs."""
    source = merges if isinstance(merges, (str, Path)) else "the merges"
    if isinstance(merges, (str, Path)):
        lines = Path(merges).read_text(encoding="utf-8").split("\n")
        numbered = [(n, line) for n, line in enumerate(lines, 1) if not line.startswith("#version")]
        if numbered and numbered[-1][1] == "":
            numbered.pop()
        merges = dict(numbered)
    else:
        merges = {n: " ".join(m) if isinstance(m, (tuple, list)) else m for n, m in enumerate(merges, 1)}
    pairs = []
    for line, merge in merges.items():
        pair = merge.split(" ")
        if len(pair) != 2 or not all(pair):
            raise CheckpointError(f"{source}: line {line} is {merge!r}, not two tokens separated by one space.")
        pairs.append(tuple(pair))
    return pairs


def _merge_tables(tokens, pairs, source):
    """Pair keys (left id * size + right id), each pair's rank and merged id, from the merges.

    The vectorized loop merges all occurrences of a word's lowest-ranked pair at once, which equals
    Hugging Face's one-at-a-time order only if no merge ranks before the merges that make its parts.
    """
    ids = {token: i for i, token in enumerate(tokens)}
    made_at = {}  # token -> the last rank that makes it
    for rank, (left, right) in enumerate(pairs):
        for token in (left, right, left + right):
            if token not in ids:
                raise CheckpointError(f"{source}: merge {rank + 1} ({left} {right}): no {token!r} in the vocabulary.")
        made_at[left + right] = rank
    table = {}
    for rank, (left, right) in enumerate(pairs):
        for part in (left, right):
            if made_at.get(part, -1) >= rank:
                raise CheckpointError(
                    f"{source}: merge {rank + 1} ({left} {right}) comes before merge {made_at[part] + 1}, which "
                    f"makes {part!r}; byte-level BPE merges must keep the order they were learned in."
                )
        table[ids[left] * len(tokens) + ids[right]] = (rank, ids[left + right])  # a later duplicate wins
    keys = np.array(list(table), np.int64)
    return keys, np.array([rank for rank, _ in table.values()], np.int32), np.array([i for _, i in table.values()],
                                                                                   np.int32)


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BytePairTokenizer(keras.layers.Layer):
    """Byte-level BPE tokenizer (RoBERTa, GPT-2): strings -> ragged int32 token ids, in-graph.

    Matches Hugging Face's `RobertaTokenizerFast` (without the added <s> </s>) as loaded from
    roberta-base's `tokenizer.json`: special tokens written in the text ("<s>", "</s>", "<pad>",
    "<unk>", "<mask>") become their ids, "<mask>" taking the whitespace before it. (transformers 5
    builds `RobertaTokenizerFast(vocab=..., merges=...)` with a "<mask>" that leaves that whitespace
    as a "Ġ" token; transformers 4 and the published tokenizer.json strip it.) Bytes that are not
    UTF-8 are tokenized as the bytes they are; `detokenize` gives them back.

    Args:
        vocabulary: a vocab.json path, a {token: id} dict or a list of tokens (id = position). It
            must hold the 256 byte symbols and "<s>", "<pad>", "</s>", "<unk>", "<mask>".
        merges: a merges.txt path or a list of "a b" strings (or (a, b) pairs), lowest rank first.
        add_prefix_space: put a space before the text (and after each special token in it), as
            Hugging Face's option of that name does: "Hello" then tokenizes as " Hello" does.

    Example:
    >>> vocabulary = {token: i for i, token in enumerate([*SPECIAL_TOKENS, *BYTE_SYMBOLS, "ab"])}
    >>> BytePairTokenizer(vocabulary, ["a b"])(["abc", "<s>"]).to_list()
    [[261, 104], [0]]
    """

    def __init__(self, vocabulary=None, merges=None, add_prefix_space=False, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False  # inputs are strings, not float tensors
        self._allow_non_tensor_positional_args = True
        self.built = True
        self.add_prefix_space = bool(add_prefix_space)
        self._files = None
        if vocabulary is not None or merges is not None:
            self.set_vocabulary(vocabulary, merges)

    def set_vocabulary(self, vocabulary, merges):
        """Sets the vocabulary and merges (paths or values); a `.keras` load calls it with the assets."""
        if vocabulary is None or merges is None:
            raise ValueError("BytePairTokenizer needs both a vocabulary (vocab.json) and merges (merges.txt).")
        tokens = read_vocabulary_json(vocabulary)
        source = vocabulary if isinstance(vocabulary, (str, Path)) else "the vocabulary"
        token_to_id = {token: i for i, token in enumerate(tokens)}
        missing = [t for t in (*SPECIAL_TOKENS, *BYTE_SYMBOLS) if t not in token_to_id]
        if missing:
            raise CheckpointError(f"{source}: lacks {len(missing)} tokens a byte-level BPE needs: {missing[:10]}.")
        pairs = read_merges(merges)
        keys, ranks, merged = _merge_tables(tokens, pairs, merges if isinstance(merges, (str, Path)) else
                                            "the merges")
        # A plain namespace: Keras's attribute tracking would walk every element of these (1.4 s here).
        self._files = types.SimpleNamespace(tokens=tokens, token_to_id=token_to_id, merges=pairs)
        # Fibonacci hashing: key * (the golden ratio's fraction of what keeps the product below 2**62).
        self._pair_multiplier = int((1 << 62) // len(tokens) ** 2 * 0.6180339887) | 1
        # key -> (key, rank << 32 | merged id): one gather gives both
        self._pairs = _HashTable(keys * self._pair_multiplier, keys, (ranks.astype(np.int64) << 32) | merged)
        self._byte_ids = tf.constant([token_to_id[s] for s in BYTE_SYMBOLS], tf.int32)
        self._vocabulary_tensor = tf.constant(tokens)
        self._class_blocks, self._classes = map(tf.constant, character_classes())
        no_words = np.zeros(0, np.int64)
        self._cache = _HashTable(no_words, no_words, no_words, no_words.astype(np.int32))
        self._cache = self._whole_word_cache(tokens)
        # Hugging Face's trim_offsets: a token's span leaves out the spaces it starts and ends with.
        self._leading_spaces = tf.constant([len(t) - len(t.lstrip(SPACE_SYMBOL)) for t in tokens], tf.int32)
        self._trailing_spaces = tf.constant([len(t) - len(t.rstrip(SPACE_SYMBOL)) for t in tokens], tf.int32)
        # detokenize: each character of a token stands for one byte (other characters for themselves).
        to_byte = {ord(s): bytes([b]) for b, s in enumerate(BYTE_SYMBOLS)}
        self._char_bytes = tf.constant([to_byte.get(c, chr(c).encode("utf-8")) for c in range(512)])
        specials = sorted(SPECIAL_TOKENS, key=len, reverse=True)  # leftmost-longest, as Hugging Face
        self._special_pattern = "|".join(
            (f"{_S}*" if t in LSTRIP_TOKENS else "") + re.escape(t) for t in specials
        )
        self._special_ids = tf.constant([token_to_id[t] for t in specials], tf.int32)
        self._specials = tf.constant(specials)

    def _whole_word_cache(self, tokens):
        """The tokens of at most CACHED_BYTES bytes that BPE leaves whole: hash -> (low, high, id), by
        `_word_keys`. Most words of a text are one of them: they skip the merges."""
        to_byte = {symbol: b for b, symbol in enumerate(BYTE_SYMBOLS)}
        short = [(i, [to_byte[c] for c in t]) for i, t in enumerate(tokens)
                 if 0 < len(t) <= CACHED_BYTES and all(c in to_byte for c in t)]
        data = tf.constant([b for _, word in short for b in word], tf.uint8)
        starts = tf.constant(np.cumsum([0] + [len(word) for _, word in short[:-1]]), tf.int32)
        _, position = self._merge(data, starts)  # with the empty cache set before
        tokens_per_word = np.bincount(np.searchsorted(starts.numpy(), position.numpy(), side="right") - 1,
                                      minlength=len(short))
        low, high, mixed, _ = (t.numpy() for t in _word_keys(data, starts, tf.repeat(tf.range(len(short)),
                                                                              [len(w) for _, w in short])))
        whole = np.flatnonzero(tokens_per_word == 1)
        _, first = np.unique(mixed[whole], return_index=True)  # a word whose hash is taken: not cached
        whole = whole[first]
        ids = np.array([i for i, _ in short], np.int32)
        return _HashTable(mixed[whole], low[whole], high[whole], ids[whole])

    def save_assets(self, dir_path):
        """vocab.json and merges.txt go into a `.keras` file as assets, not into its config JSON."""
        tokens = self._checked_vocabulary()
        vocabulary = {token: i for i, token in enumerate(tokens)}
        (Path(dir_path) / VOCABULARY_ASSET).write_text(json.dumps(vocabulary, ensure_ascii=False), encoding="utf-8")
        merges = "".join(f"{a} {b}\n" for a, b in self._files.merges)
        (Path(dir_path) / MERGES_ASSET).write_text("#version: 0.2\n" + merges, encoding="utf-8")

    def load_assets(self, dir_path):
        self.set_vocabulary(Path(dir_path) / VOCABULARY_ASSET, Path(dir_path) / MERGES_ASSET)

    def _checked_vocabulary(self):
        if self._files is None:
            raise ValueError("This BytePairTokenizer has no vocabulary yet: pass one, or call set_vocabulary.")
        return self._files.tokens

    @property
    def vocabulary_size(self):
        return len(self._checked_vocabulary())

    def get_vocabulary(self):
        return list(self._checked_vocabulary())

    def token_to_id(self, token):
        if token not in self._files.token_to_id:
            raise KeyError(f"Token {token!r} is not in the vocabulary.")
        return self._files.token_to_id[token]

    def id_to_token(self, token_id):
        return self._files.tokens[token_id]

    pad_id = property(lambda self: self.token_to_id("<pad>"))
    unk_id = property(lambda self: self.token_to_id("<unk>"))
    cls_id = property(lambda self: self.token_to_id("<s>"))  # RoBERTa's cls (= bos) token
    sep_id = property(lambda self: self.token_to_id("</s>"))  # RoBERTa's sep (= eos) token
    mask_id = property(lambda self: self.token_to_id("<mask>"))

    def call(self, inputs):
        """Strings -> token ids: a scalar gives a 1-D Tensor, a batch [batch, None] ragged."""
        inputs, scalar = _as_string_batch(inputs)
        ids = self._encode(inputs)[0]
        return ids[0] if scalar else ids

    def tokenize_with_offsets(self, inputs):
        """Returns `(ids, begin, end)`: begin/end the byte span of each token in the input.

        The spans are Hugging Face's offsets in bytes: a token holding part of a character spans
        that whole character, and a token's leading and trailing spaces are left out (trim_offsets).
        """
        inputs, scalar = _as_string_batch(inputs)
        outputs = self._encode(inputs, with_offsets=True)
        return tuple(t[0] for t in outputs) if scalar else outputs

    def detokenize(self, ids):
        """Token ids (dense or ragged, int) -> strings, the bytes the tokens stand for joined."""
        tokens = tf.gather(self._vocabulary_tensor, ids)
        chars = tf.strings.unicode_decode(tf.strings.reduce_join(tokens, axis=-1), "UTF-8")
        flat = chars.flat_values
        table_size = tf.size(self._char_bytes)
        as_bytes = tf.where(flat < table_size, tf.gather(self._char_bytes, tf.minimum(flat, table_size - 1)),
                            tf.strings.unicode_encode(flat[:, tf.newaxis], "UTF-8"))
        return tf.strings.reduce_join(chars.with_flat_values(as_bytes), axis=-1)

    def _encode(self, inputs, with_offsets=False):
        self._checked_vocabulary()
        # 1. Segments: the text between special tokens, and each special token. tensorflow-text's
        # regex_split stops at a NUL byte: the patterns see \x01 there (to them the same: "other").
        safe = tf.strings.regex_replace(inputs, r"\x00", "\x01")
        segments, segment_begin, segment_end = text.regex_split_with_offsets(
            safe, self._special_pattern, self._special_pattern
        )
        flat = segments.flat_values
        stripped = tf.strings.regex_replace(flat, f"^{_S}+", "")
        stripped_bytes = tf.strings.length(flat) - tf.strings.length(stripped)
        stripped_chars = tf.strings.length(flat, "UTF8_CHAR") - tf.strings.length(stripped, "UTF8_CHAR")
        matches = tf.equal(stripped[:, tf.newaxis], self._specials)
        is_special = tf.reduce_any(matches, axis=1)
        special_id = tf.reduce_sum(tf.where(matches, self._special_ids, 0), axis=1)
        original = tf.strings.substr(tf.gather(inputs, ragged_value_rowids(segments)), segment_begin.flat_values,
                                     segment_end.flat_values - segment_begin.flat_values)
        # A special token's segment becomes one placeholder byte: one word, whose id is replaced below.
        starts_with_space = tf.strings.substr(flat, 0, 1) == " "
        shift = tf.cast(~is_special & (tf.strings.length(flat) > 0) & ~starts_with_space & self.add_prefix_space,
                        tf.int32)
        prefix = tf.where(shift > 0, " ", "")
        flat = tf.where(is_special, "\x01", tf.strings.join([prefix, flat]))
        lengths = tf.strings.length(flat)
        starts = tf.cumsum(lengths, exclusive=True)
        data = tf.io.decode_raw(tf.strings.reduce_join(tf.where(is_special, "\x01", prefix + original)), tf.uint8)
        byte_segment = ragged_value_rowids(tf.RaggedTensor.from_row_lengths(data, tf.cast(lengths, tf.int64)))
        # 2. Pre-tokens ("words") and 3. the merges.
        word_starts = _pre_token_starts(flat, starts, self._class_blocks, self._classes)
        ids, position = self._merge(data, word_starts)
        token_segment = tf.cast(tf.gather(byte_segment, position), tf.int32)
        ids = tf.where(tf.gather(is_special, token_segment), tf.gather(special_id, token_segment), ids)
        row_splits = tf.gather(
            tf.concat([[0], tf.cumsum(tf.math.bincount(
                token_segment, minlength=tf.size(flat), maxlength=tf.size(flat), dtype=tf.int64))], 0),
            segments.row_splits,
        )
        ids = tf.RaggedTensor.from_row_splits(ids, row_splits, validate=False)
        if not with_offsets:
            return (ids,)
        # Offsets: from the segment strings back to the input, then Hugging Face's trim_offsets.
        segment_start = tf.gather(starts, token_segment)
        local_begin = position - segment_start
        local_end = tf.concat([position[1:], tf.shape(data)], 0) - segment_start
        base = tf.cast(tf.gather(segment_begin.flat_values, token_segment), tf.int32)
        token_shift = tf.gather(shift, token_segment)
        begin = base + tf.maximum(local_begin - token_shift, 0)
        end = base + tf.maximum(local_end - token_shift, token_shift)  # the added space: the 1st char
        rows = ragged_value_rowids(ids)
        begin, end = _whole_characters(inputs, rows, begin, end)
        # Each token's leading and trailing spaces: "Ġ" is one byte, the added space as wide as the
        # character it stands for; a special token's are the whitespace it took.
        flat_ids = ids.flat_values
        first_byte = tf.gather(data, tf.minimum(position + 1, tf.maximum(tf.size(data) - 1, 0)))
        width = tf.where((token_shift > 0) & (local_begin == 0), _char_length_at_lead(first_byte), 1)
        leading = tf.gather(self._leading_spaces, flat_ids)
        trailing = tf.gather(self._trailing_spaces, flat_ids)
        leading_bytes = tf.where(leading > 0, leading + width - 1, 0)
        trailing_bytes = tf.where(trailing > 0, trailing + tf.where(local_end == 1, width, 1) - 1, 0)
        special = tf.gather(is_special, token_segment)
        begin = tf.where(special, base, begin)
        end = tf.where(special, tf.cast(tf.gather(segment_end.flat_values, token_segment), tf.int32), end)
        leading = tf.where(special, tf.gather(stripped_chars, token_segment), leading)
        leading_bytes = tf.where(special, tf.gather(stripped_bytes, token_segment), leading_bytes)
        trailing_bytes = tf.where(special, 0, trailing_bytes)
        if self.add_prefix_space:  # the space it adds before a text's first word stays in the span
            first = (tf.range(tf.size(flat_ids, out_type=tf.int64)) == tf.gather(ids.row_splits, rows)) | (begin == 0)
            leading_bytes = tf.where(first & (leading == 1), 0, leading_bytes)
        begin = tf.where(leading_bytes > 0, tf.minimum(begin + leading_bytes, end), begin)
        end = tf.where((trailing_bytes > 0) & (end >= trailing_bytes), tf.maximum(end - trailing_bytes, begin), end)
        return ids, ids.with_flat_values(begin), ids.with_flat_values(end)

    def _merge(self, data, word_starts):
        """BPE over all words at once. `data`: the bytes of every word, word after word; `word_starts`:
        where each word begins. Returns (token ids, position of each token's first byte)."""
        size = tf.cast(self.vocabulary_size, tf.int64)
        total = tf.size(data)
        is_start = tf.scatter_nd(word_starts[:, tf.newaxis], tf.ones_like(word_starts), [total]) > 0
        word = tf.cumsum(tf.cast(is_start, tf.int32)) - 1
        # Words that are a cached token skip the loop (`_whole_word_cache`).
        low, high, mixed, length = _word_keys(data, word_starts, word)
        index = self._cache.slots(mixed)
        cache_low, cache_high, cache_ids = self._cache.columns
        cached = length <= CACHED_BYTES
        cached &= (tf.gather(cache_low, index) == low) & (tf.gather(cache_high, index) == high)
        position = tf.cast(tf.reshape(tf.where(~tf.gather(cached, word)), [-1]), tf.int32)
        symbols = tf.gather(self._byte_ids, tf.cast(tf.gather(data, position), tf.int32))
        word = tf.gather(word, position)
        words = tf.size(word_starts)

        def step(round_, symbols, position, word, finished_positions, finished_ids):
            same_word = word[:-1] == word[1:]
            key = tf.cast(symbols[:-1], tf.int64) * size + tf.cast(symbols[1:], tf.int64)
            index = self._pairs.slots(key * self._pair_multiplier)
            pair_keys, ranks_and_ids = self._pairs.columns
            found = same_word & (tf.gather(pair_keys, index) == key)
            rank_and_id = tf.gather(ranks_and_ids, index)
            rank = tf.where(found, tf.cast(tf.bitwise.right_shift(rank_and_id, np.int64(32)), tf.int32),
                            tf.int32.max)
            merged_id = tf.cast(tf.bitwise.bitwise_and(rank_and_id, np.int64(0xFFFFFFFF)), tf.int32)
            lowest = tf.gather(tf.math.unsorted_segment_min(rank, word[:-1], words), word)  # per symbol
            chosen = found & (rank == lowest[:-1])
            merge = tf.cond(tf.reduce_any(chosen[1:] & chosen[:-1]), lambda: _every_other(chosen),
                            lambda: chosen)  # runs of one pair ("a a a") are rare: the cheap path skips them
            merged = tf.where(tf.concat([merge, [False]], 0),
                              tf.concat([merged_id, [0]], 0), symbols)
            # Words without a pair to merge are done: their tokens leave the loop.
            finished = lowest == tf.int32.max
            finished_positions = finished_positions.write(round_, _select(position, finished))
            finished_ids = finished_ids.write(round_, _select(merged, finished))
            keep = tf.reshape(tf.where(~tf.concat([[False], merge], 0) & ~finished), [-1])
            return (round_ + 1, tf.gather(merged, keep), tf.gather(position, keep), tf.gather(word, keep),
                    finished_positions, finished_ids)

        # The tokens of cached words come first, then those of each round of merges.
        finished = [tf.TensorArray(tf.int32, size=1, dynamic_size=True, infer_shape=False).write(0, value)
                    for value in (_select(word_starts, cached), _select(tf.gather(cache_ids, index), cached))]
        *_, finished_positions, finished_ids = tf.while_loop(
            lambda round_, symbols, *_: tf.size(symbols) > 0, step, (1, symbols, position, word, *finished),
        )
        done = tf.scatter_nd(  # done[p]: 1 + the id of the token starting at byte p
            finished_positions.concat()[:, tf.newaxis], finished_ids.concat() + 1, [total])
        position = tf.cast(tf.reshape(tf.where(done > 0), [-1]), tf.int32)
        return tf.gather(done, position) - 1, position

    def get_config(self):
        config = super().get_config()
        # The vocabulary and merges are assets (`save_assets`): a .keras file's config stays small.
        config.update({"vocabulary": None, "merges": None, "add_prefix_space": self.add_prefix_space})
        return config


OTHER, LETTER, DIGIT, WHITESPACE_CLASS, SPACE = range(5)  # character classes of GPT-2's pattern


@functools.cache
def character_classes():
    """Each code point's class as Hugging Face's pattern sees it: \\s (Unicode White_Space; " " apart),
    \\p{L}, \\p{N} (Unicode 16) or other, as a two-level table (two gathers cost less than a binary
    search): `blocks[code >> 8] * 256 + (code & 255)` indexes `classes`. Built with RE2's tables and
    NEW_LETTERS/NEW_DIGITS, once per process (0.5 s)."""
    code_points = np.arange(0x110000, dtype=np.int32)
    code_points[0xD800:0xE000] = 0xFFFD  # surrogates: not characters (and not letters)
    chars = tf.strings.unicode_encode(tf.RaggedTensor.from_tensor(code_points[:, np.newaxis]), "UTF-8")
    classes = np.full(len(code_points), OTHER, np.int32)
    for value, pattern in ((DIGIT, _N), (LETTER, _L), (WHITESPACE_CLASS, _S)):
        classes[tf.strings.regex_full_match(chars, pattern).numpy()] = value
    classes[ord(" ")] = SPACE
    unique, blocks = np.unique(classes.reshape(-1, 256), axis=0, return_inverse=True)
    return blocks.astype(np.int32).reshape(-1), unique.reshape(-1)


def _pre_token_starts(segments, starts, class_blocks, classes):
    """Where each pre-token begins, as positions in all segments' bytes (one after another).

    GPT-2's pattern, character class by character class (RE2 has no lookahead, and running the
    pattern costs more than these few vectorized ops): a pre-token ends where the class changes
    (whitespace, letter, digit, other), except that a space goes with the letters, digits or other
    characters after it; a whitespace run followed by more keeps its last character apart (GPT-2's
    `\\s+(?!\\S)`); "'s", "'t", "'re", "'ve", "'m", "'ll" and "'d" are pre-tokens of their own where an
    apostrophe starts one.
    """
    chars, offsets = tf.strings.unicode_decode_with_offsets(segments, "UTF-8", errors="replace")
    code = chars.flat_values
    block = tf.gather(class_blocks, tf.bitwise.right_shift(code, 8))
    kind = tf.gather(classes, block * 256 + tf.bitwise.bitwise_and(code, 255))
    run = tf.minimum(kind, WHITESPACE_CLASS)  # whitespace and space form one run
    rows = ragged_value_rowids(chars)
    first = tf.concat([[True], rows[1:] != rows[:-1]], 0)

    def before(x, fill):
        return tf.where(first, fill, tf.concat([[fill], x[:-1]], 0))

    def after(x, fill, step=1):
        size = tf.size(x)
        shifted = tf.concat([x[step:], tf.fill([step], fill)], 0)[:size]
        inside = tf.concat([rows[step:] == rows[:-step], tf.fill([step], False)], 0)[:size]
        return tf.where(inside, shifted, fill)

    run_before, run_after = before(run, -1), after(run, -1)
    space = run == WHITESPACE_CLASS
    cut = (run != run_before) & ~((before(kind, -1) == SPACE) & ~space)
    cut |= space & (run_before == WHITESPACE_CLASS) & (run_after != WHITESPACE_CLASS) & (run_after >= 0)
    # Contractions, where an apostrophe starts a pre-token (after a letter, a digit, whitespace other
    # than a space, or at the start).
    next1, next2 = after(code, 0), after(code, 0, 2)
    one = tf.reduce_any(next1[:, tf.newaxis] == [ord(c) for c in "stmd"], axis=1)
    two = ((next1 == ord("r")) | (next1 == ord("v"))) & (next2 == ord("e")) | (next1 == ord("l")) & (next2 == ord("l"))
    starts_one = (code == ord("'")) & (run_before != OTHER) & (before(kind, -1) != SPACE)
    length = tf.where(starts_one & one, 2, tf.where(starts_one & two, 3, 0))
    length_1 = before(length, 0)  # the contraction length at 1, 2 and 3 characters back
    length_2 = before(length_1, 0)
    length_3 = before(length_2, 0)
    inside = (length_1 >= 2) | (length_2 == 3)
    ends = (length_2 == 2) | (length_3 == 3)
    cut = (cut & ~inside) | ends | first
    byte = tf.cast(offsets.flat_values, tf.int32) + tf.gather(starts, rows)
    return _select(byte, cut)


def _select(values, mask):
    """`values[mask]` for 1-D tensors: `tf.boolean_mask` needs the mask's rank where tracing cannot tell it."""
    return tf.gather(values, tf.reshape(tf.where(tf.reshape(mask, [-1])), [-1]))


def _every_other(chosen):
    """In each run of overlapping occurrences of one pair ("a a a" merging "a a"), the 1st, 3rd, ... merge."""
    run_start = chosen & ~tf.concat([[False], chosen[:-1]], 0)
    start_index = tf.concat([tf.reshape(tf.where(run_start), [-1]), [0]], 0)
    run_begin = tf.gather(start_index, tf.maximum(tf.cumsum(tf.cast(run_start, tf.int32)) - 1, 0))
    return chosen & ((tf.range(tf.size(chosen, out_type=tf.int64)) - run_begin) % 2 == 0)


class _HashTable:
    """Columns of values stored by distinct int64 hashes (well mixed in bits 0-47), each in one of two
    slots (`_two_slots`; cuckoo hashing), found with two gathers: written here because tf.searchsorted's
    binary search cost several times more, and TF's lookup tables are resources (see the module docstring).

    An empty slot holds -1 in every column.
    """

    def __init__(self, hashes, *columns):
        self.bits = max(int(len(hashes)).bit_length(), 1)  # each half at least as large as the entries
        while (slots := _cuckoo_slots(*_two_slots(np.asarray(hashes, np.int64), self.bits))) is None:
            self.bits += 1
        entry = np.full(2 << self.bits, -1)
        entry[slots] = np.arange(len(hashes))
        self.hashes = tf.constant(np.where(entry >= 0, np.append(hashes, 0)[entry], -1), tf.int64)
        self.columns = tuple(tf.constant(np.where(entry >= 0, np.append(c, 0)[entry], -1).astype(c.dtype))
                             for c in columns)

    def slots(self, hashes):
        """Where each hash is, if stored: the caller compares its key columns there."""
        first, second = _two_slots(hashes, self.bits, tf.bitwise)
        return tf.where(tf.gather(self.hashes, first) == hashes, first, second)


def _two_slots(x, bits, ops=np):
    """A hash's two slots, one in each half of a table of 2 << bits: its low bits and its bits from 32 on
    (no division, which costs more than the rest of a lookup), alike in numpy and TensorFlow."""
    mask = np.int64((1 << bits) - 1)
    return ops.bitwise_and(x, mask), ops.bitwise_or(ops.bitwise_and(ops.right_shift(x, np.int64(32)), mask),
                                                    np.int64(1 << bits))


def _cuckoo_slots(first, second, max_moves=500):
    """The slot of each entry, `first` or `second` (distinct entries keep distinct slots), or None where
    the table is too full."""
    _, placed = np.unique(first, return_index=True)  # one entry per first slot goes straight there
    table = np.full(int(second.max(initial=1)) + 1, -1)
    table[first[placed]] = placed
    table, first, second = table.tolist(), first.tolist(), second.tolist()
    for entry in np.setdiff1d(np.arange(len(first)), placed).tolist():
        slot = first[entry]
        for _ in range(max_moves):
            table[slot], entry = entry, table[slot]
            if entry < 0:
                break
            slot = second[entry] if slot == first[entry] else first[entry]  # the other slot it may take
        else:
            return None
    slots = np.zeros(len(first), np.int64)
    for slot, entry in enumerate(table):
        if entry >= 0:
            slots[entry] = slot
    return slots


_BYTE_WEIGHTS = np.random.default_rng(0).integers(1 << 39, 1 << 40, CACHED_BYTES + 1)  # sums stay below 2**52


def _word_keys(data, word_starts, word):
    """Each word's bytes 0-7 (`low`) and bytes 8-14 with the length in the top byte (`high`) as int64,
    which tell apart words of up to CACHED_BYTES bytes exactly, a hash of those bytes (a sum with
    `_BYTE_WEIGHTS`, whose every bit depends on the bytes) and the lengths. `word`: each byte's word."""
    length = tf.concat([word_starts[1:], tf.shape(data)], 0) - word_starts
    offset = tf.range(tf.size(data)) - tf.gather(word_starts, word)
    value = tf.cast(data, tf.int64)
    low = tf.bitwise.left_shift(value, tf.cast(8 * tf.clip_by_value(offset, 0, 7), tf.int64))
    high = tf.bitwise.left_shift(value, tf.cast(8 * tf.clip_by_value(offset - 8, 0, 6), tf.int64))
    low = tf.math.segment_sum(tf.where(offset < 8, low, 0), word)
    high = tf.math.segment_sum(tf.where((offset >= 8) & (offset < CACHED_BYTES), high, 0), word)
    mixed = tf.math.segment_sum(value * tf.gather(_BYTE_WEIGHTS, tf.minimum(offset, CACHED_BYTES)), word)
    return low, high + tf.bitwise.left_shift(tf.cast(length, tf.int64), 56), mixed, length


def _is_continuation(data, index):
    inside = (index >= 0) & (index < tf.size(data))
    byte = tf.gather(data, tf.clip_by_value(index, 0, tf.maximum(tf.size(data) - 1, 0)))
    return inside & (byte >= 0x80) & (byte < 0xC0)


def _char_length_at_lead(byte):
    """UTF-8 length of the character a lead byte starts: 11110xxx 4, 1110xxxx 3, 110xxxxx 2, else 1."""
    return 1 + sum(tf.cast(byte >= lead, tf.int32) for lead in (0xC0, 0xE0, 0xF0))


def _whole_characters(inputs, rows, begin, end):
    """Widens each non-empty [begin, end) byte span to whole characters of its row of `inputs`."""
    lengths = tf.strings.length(inputs)
    row_start = tf.gather(tf.cumsum(lengths, exclusive=True), rows)
    row_end = row_start + tf.gather(lengths, rows)
    data = tf.io.decode_raw(tf.strings.reduce_join(inputs), tf.uint8)
    first, last = row_start + begin, row_start + end
    open_begin = open_end = end > begin
    for step in (0, 1, 2):
        open_begin &= (first - step > row_start) & _is_continuation(data, first - step)
        begin -= tf.cast(open_begin, begin.dtype)
        open_end &= (last + step < row_end) & _is_continuation(data, last + step)
        end += tf.cast(open_end, end.dtype)
    return begin, end


def _as_string_batch(inputs):
    """Returns `(rank-1 string tensor, whether the input was a scalar)`."""
    inputs = tf.convert_to_tensor(inputs, dtype=tf.string)
    if inputs.shape.rank not in (0, 1):
        raise ValueError(f"BytePairTokenizer takes a string or a 1-D batch, not shape {inputs.shape}.")
    return (inputs[tf.newaxis], True) if inputs.shape.rank == 0 else (inputs, False)
