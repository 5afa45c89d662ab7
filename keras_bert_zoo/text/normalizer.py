"""BERT's text normalization as a FastBertNormalizer model (the flatbuffer tensorflow-text reads).

tensorflow-text's built-in lowercase normalizer applies NFKC case folding, which differs from BERT's
(and Hugging Face's) "strip accents, then lowercase" on thousands of characters (ß, ², ﬁ, fullwidth
forms, math letters ...). `bert_normalizer_model` builds a per-character table that reproduces
Hugging Face's `BertNormalizer`, so the TFLite-ready FastBertNormalizer kernel can still run it.
It is built here because tensorflow-text ships no builder for custom tables.

Example:
>>> model = bert_normalizer_model(lowercase=True)
>>> isinstance(model, bytes) and len(model) > 1000
True
"""

import functools
import itertools
import unicodedata

import flatbuffers
import numpy as np


def _bert_normalize_char(char, lowercase):
    """Hugging Face `BertNormalizer` applied to one character (Python's Unicode 14 tables)."""
    if char in "\t\n\r":
        return " "
    category = unicodedata.category(char)
    if char == "\ufffd" or category in ("Cc", "Cf", "Co"):
        return ""
    if category in ("Zs", "Zl", "Zp"):
        return " "
    # CJK ideographs need no padding here: FastWordpieceTokenizer already splits them off.
    if not lowercase:
        return char
    if unicodedata.is_normalized("NFD", char):
        return "" if category == "Mn" else char.lower()
    decomposed = unicodedata.normalize("NFD", char)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").lower()


def _invalid_utf8_keys():
    """Every byte run that ICU's U8_FWD_1 steps over as one unit but that is not valid UTF-8."""
    trail = range(0x80, 0xC0)
    keys = [bytes([b]) for b in range(0x80, 0x100)]  # stray trail bytes, bad or truncated leads
    for lead in range(0xE0, 0xF0):  # 3-byte lead and a valid second byte, then no trail
        low, high = (0xA0, 0xBF) if lead == 0xE0 else (0x80, 0x9F) if lead == 0xED else (0x80, 0xBF)
        keys += [bytes([lead, t]) for t in range(low, high + 1)]
    for lead in range(0xF0, 0xF5):  # 4-byte lead and a valid second byte, then one or no trail
        low, high = (0x90, 0xBF) if lead == 0xF0 else (0x80, 0x8F) if lead == 0xF4 else (0x80, 0xBF)
        for t1 in range(low, high + 1):
            keys += [bytes([lead, t1])] + [bytes([lead, t1, t2]) for t2 in trail]
    return keys


def _darts_clone_trie(keys_to_values):
    """A darts-clone double-array trie (the uint32 layout tensorflow-text reads) for byte keys.

    Identical subtrees share one block of children (as darts-clone's DAWG does), which keeps the
    ~137k private-use code points, all mapped to "", down to a few hundred units.
    """
    root, leaves = [None, {}], {}  # node: [value, {byte: child}]
    for key in sorted(keys_to_values, key=len, reverse=True):  # longest first: leaves stay leaves
        node = root
        for byte in key[:-1]:
            node = node[1].setdefault(byte, [None, {}])
        value = keys_to_values[key]
        if key[-1] in node[1]:
            node[1][key[-1]][0] = value
        else:
            node[1][key[-1]] = leaves.setdefault(value, [value, {}])
    blocks, block_ids, memo = [], {}, {}

    def block_of(node):  # post-order: children get their block ids first
        if id(node) not in memo:
            children = tuple((b, block_of(child)) for b, child in sorted(node[1].items()))
            memo[id(node)] = block_ids.setdefault((node[0], children), len(block_ids))
            if memo[id(node)] == len(blocks):
                blocks.append((node[0], children))
        return memo[id(node)]

    root_block = block_of(root)
    # Each block's children sit at base ^ label (label 0: the value); bases must differ.
    labels = [[0] * (value is not None) + [b for b, _ in children] for value, children in blocks]
    used, bases, used_bases = bytearray(256), [0] * len(blocks), set()
    used[0] = 1  # the root's own unit
    first_free = 1
    for index in range(len(blocks)):
        position = first_free
        while True:
            position = used.find(0, position)  # the next free unit, for the first label
            while position < 0 or len(used) <= position | 0xFF:  # base ^ label: same 256-run
                position = len(used) if position < 0 else position
                used.extend(bytes(256))
            base = position ^ labels[index][0]
            if base not in used_bases and all(not used[base ^ label] for label in labels[index]):
                break
            position += 1
        bases[index] = base
        used_bases.add(base)
        for label in labels[index]:
            used[base ^ label] = 1
        while used[first_free]:
            first_free += 1
            if first_free == len(used):
                used.extend(bytes(256))
    units = np.zeros(len(used), dtype=np.uint32)
    units[0] = bases[root_block] << 10
    for (value, children), base in zip(blocks, bases):
        if value is not None:
            units[base] = 0x80000000 | value
        for label, child in children:
            has_leaf = blocks[child][0] is not None
            units[base ^ label] = (((base ^ label) ^ bases[child]) << 10) | (has_leaf << 8) | label
    if len(units) >= 1 << 21:
        raise ValueError("Trie too large for darts-clone's 21-bit offsets.")
    return units


@functools.cache
def bert_normalizer_model(lowercase):
    """The FastBertNormalizer flatbuffer (fast_bert_normalizer_model.fbs) for Hugging Face rules."""
    keys_to_values, pool, pool_offsets = {}, bytearray(), {}

    def encode(normalized):  # bit 30: changed; bits 6-29: offset in the pool; bits 0-5: length
        if normalized not in pool_offsets:
            pool_offsets[normalized] = len(pool)
            pool.extend(normalized)
        return 0x40000000 | (pool_offsets[normalized] << 6) | len(normalized)

    for codepoint in itertools.chain(range(1, 0x40000), range(0xE0000, 0x110000)):  # 4-13: empty
        char = chr(codepoint)
        if unicodedata.category(char) in ("Cn", "Cs"):  # unassigned ones stay, as in HF
            continue
        normalized = _bert_normalize_char(char, lowercase)
        if normalized != char:
            keys_to_values[char.encode("utf-8")] = encode(normalized.encode("utf-8"))
    for key in _invalid_utf8_keys():  # invalid UTF-8 reads as U+FFFD, which BERT drops
        keys_to_values.setdefault(key, encode(b""))
    trie = _darts_clone_trie(keys_to_values)

    builder = flatbuffers.Builder(4 * len(trie) + len(pool) + 64)
    pool_vector = builder.CreateNumpyVector(np.frombuffer(bytes(pool), dtype=np.uint8))
    trie_vector = builder.CreateNumpyVector(trie)
    builder.StartObject(4)
    builder.PrependBoolSlot(0, lowercase, False)
    builder.PrependUOffsetTRelativeSlot(1, trie_vector, 0)
    builder.PrependInt32Slot(2, encode(b""), 0)  # code point 0 is dropped too
    builder.PrependUOffsetTRelativeSlot(3, pool_vector, 0)
    builder.Finish(builder.EndObject())
    return bytes(builder.Output())
