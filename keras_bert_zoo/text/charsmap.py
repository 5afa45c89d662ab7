"""SentencePiece's normalization table (a `.model`'s `precompiled_charsmap`): read it, write it, and fold
Hugging Face's own normalization steps into it.

Hugging Face's `AlbertTokenizer` normalizes before the `.model`'s table does: "``" and "''" become '"',
then NFKD and accents dropped (unless `keep_accents`), then lowercase (`do_lower_case`). Folding those
steps into the table (each key's value becomes what the steps and then the table make of it) lets
tensorflow-text's `FastSentencepieceTokenizer`, whose kernel LiteRT runs, do all of it in one pass, in
TFLite too. A table maps UTF-8 byte strings to their normalization, longest match first; it is a
darts-clone double-array trie (`keras_bert_zoo.text.normalizer` builds those) of offsets into a pool of
NUL-terminated strings, after the trie's size in bytes (uint32, little-endian).

Example:
>>> table = write_charsmap({"Ａ".encode(): b"A", b"``": b'"'})
>>> read_charsmap(table)["Ａ".encode()], apply_charsmap(read_charsmap(table), "``Ａb")
(b'A', b'"Ab')
"""

import functools
import itertools
import unicodedata

import numpy as np

from keras_bert_zoo.text.normalizer import _darts_clone_trie

_LEAF = 1 << 8
_VALUE_MASK = 0x7FFFFFFF
_LABEL_MASK = 0x800000FF


def _offset(unit):
    return (unit >> 10) << ((unit & (1 << 9)) >> 6)


def read_charsmap(blob):
    """{UTF-8 key: normalized bytes} of a `precompiled_charsmap` (empty for an empty one)."""
    if not blob:
        return {}
    size = int.from_bytes(blob[:4], "little")
    units = np.frombuffer(blob[4:4 + size], "<u4").astype(np.int64)
    pool = blob[4 + size:]
    labels = np.arange(1, 256)
    mapping, stack = {}, [(0, b"")]
    while stack:  # depth first; a node's children sit at base ^ label, each unit holding its label
        position, key = stack.pop()
        unit = int(units[position])
        base = position ^ _offset(unit)
        if key and unit & _LEAF:
            start = int(units[base]) & _VALUE_MASK
            mapping[key] = pool[start:pool.index(b"\0", start)]
        children = base ^ labels
        children = children[children < len(units)]
        for child in children[(units[children] & _LABEL_MASK) == (children ^ base)].tolist():
            stack.append((child, key + bytes((child ^ base,))))
    return mapping


def write_charsmap(mapping):
    """The `precompiled_charsmap` of {UTF-8 key: normalized bytes}."""
    pool, offsets, values = bytearray(), {}, {}
    for key, value in mapping.items():
        if value not in offsets:
            offsets[value] = len(pool)
            pool += value + b"\0"
        values[key] = offsets[value]
    trie = _darts_clone_trie(values).astype("<u4").tobytes()
    return len(trie).to_bytes(4, "little") + trie + bytes(pool)


def apply_charsmap(mapping, text, longest=None):
    """`text` normalized by {UTF-8 key: bytes} as SentencePiece does: the longest key at each position
    (`longest`: the longest key's length, if known)."""
    data, out, position = text.encode(), bytearray(), 0
    longest = longest or max(map(len, mapping), default=1)
    while position < len(data):
        for length in range(min(longest, len(data) - position), 0, -1):
            if data[position:position + length] in mapping:
                out += mapping[data[position:position + length]]
                position += length
                break
        else:  # one character, as it is
            length = 1
            while position + length < len(data) and data[position + length] & 0xC0 == 0x80:
                length += 1
            out += data[position:position + length]
            position += length
    return bytes(out)


def _hf_steps(text, lowercase, strip_accents):
    """Hugging Face's NFKD + StripAccents (every combining mark, Mn Mc Me) and Lowercase, in that order."""
    if strip_accents and not (unicodedata.is_normalized("NFKD", text) and not any(map(_is_mark, text))):
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not _is_mark(c))
    return text.lower() if lowercase else text  # one character's lower(): Rust's char::to_lowercase


def _is_mark(char):
    return unicodedata.category(char)[0] == "M"


# Code points the steps may change: planes 0-2 and 14 (tags, variation selectors); the others hold only
# unassigned code points, CJK ideographs and private use, which no step changes.
_CODEPOINTS = (range(0x30000), range(0xE0000, 0xF0000))


@functools.lru_cache(maxsize=8)
def prenormalized_charsmap(blob, lowercase=False, strip_accents=False, replace_quotes=False):
    """`blob` (a `precompiled_charsmap`) with Hugging Face's steps before it folded in: each character
    and each key of the table maps to what the steps, then the table, make of it; "``" and "''" to '"'."""
    table = read_charsmap(blob)
    longest, mapping = max(map(len, table), default=1), {}
    if lowercase or strip_accents:
        for codepoint in itertools.chain(*_CODEPOINTS):
            char = chr(codepoint)
            if (changed := _hf_steps(char, lowercase, strip_accents)) != char and not 0xD800 <= codepoint < 0xE000:
                mapping[char.encode()] = apply_charsmap(table, changed, longest)
        for key in table:  # keys of several characters (compositions): the steps on the whole key
            text = key.decode("utf-8", errors="ignore")
            if len(text) > 1 and (changed := _hf_steps(text, lowercase, strip_accents)) != text:
                mapping[key] = apply_charsmap(table, changed, longest)
    if replace_quotes:
        mapping[b"``"] = mapping[b"''"] = apply_charsmap(table, '"', longest)
    return write_charsmap({**table, **mapping})


@functools.lru_cache(maxsize=1)
def nfc_charsmap():
    """A `precompiled_charsmap` for NFC with "\\t", "\\n" and "\\r" read as spaces (transformers 5's
    `DebertaV2Tokenizer`, whose normalizer replaces the `.model`'s). Keys: each character NFC changes (singletons
    such as U+212B ANGSTROM SIGN), and each canonical decomposition of a composed character, partly composed too
    ("A" + U+030A + U+0301 and U+00C5 + U+0301 both to U+01FA). Combining marks in other than canonical order
    stay as they are: the table matches strings, NFC reorders them first."""
    mapping = {c.encode(): b" " for c in "\t\n\r"}
    canonical = (chr(c) for c in itertools.chain(*_CODEPOINTS)  # Hangul syllables decompose by rule
                 if (d := unicodedata.decomposition(chr(c))) and d[0] != "<" or 0xAC00 <= c <= 0xD7A3)
    for char in canonical:
        if (composed := unicodedata.normalize("NFC", char)) != char:
            mapping[char.encode()] = composed.encode()
        decomposed = unicodedata.normalize("NFD", char)
        if composed == char and len(decomposed) > 1:
            for split in range(1, len(decomposed)):
                key = unicodedata.normalize("NFC", decomposed[:split]) + decomposed[split:]
                if key != char:
                    mapping.setdefault(key.encode(), char.encode())
    return write_charsmap(mapping)
