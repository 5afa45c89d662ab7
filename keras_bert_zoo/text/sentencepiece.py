"""SentencePieceTokenizer: a SentencePiece (unigram) `.model` as a Keras layer that runs in-graph.

Ids equal Hugging Face's fast tokenizer built from the same `.model` (`XLMRobertaTokenizerFast`
for the XLM-R layout), offsets its `return_offsets_mapping` (as byte offsets). Ids come from
tensorflow-text's `FastSentencepieceTokenizer`, whose kernel LiteRT runs too, and which breaks ties
between equally scored splits as Hugging Face and sentencepiece 0.2 do ("000" -> "0", "00");
tensorflow-text's `SentencepieceTokenizer` (an older sentencepiece inside) splits them the other
way, so it only serves the offsets, as a character model (see `tokenize_with_offsets`). A TFLite
export puts `tokenizer.for_tflite()` in its graph: only ops LiteRT runs (see the `tflite` argument).

The model's ids map to the model family's ids by a layout (`LAYOUTS`): XLM-R (fairseq) puts
`<s> <pad> </s> <unk>` first, every other piece one id later than in the `.model`, and `<mask>`
last; "plain" (ALBERT, DeBERTa-v3) keeps the `.model`'s ids, `extra_tokens` (DeBERTa-v3's
"[MASK]") coming after them.

Hugging Face's `AlbertTokenizer` normalizes before the `.model` does ("``" and "''" to '"', NFKD and
accents dropped, lowercase): `replace_quotes`, `strip_accents` and `lowercase` fold those steps into the
`.model`'s normalization table (`keras_bert_zoo.text.charsmap`), so they run in the same kernel, in
TFLite too.

transformers 5's `DebertaV2Tokenizer` ignores the `.model`'s table: it reads "\t", "\n", "\r" and runs of
whitespace as one space, drops trailing whitespace and applies NFC. `normalization="nfc"` does the same
(`kbz.load_tokenizer` of a DeBERTa-v3 folder sets it), NFC by a table (`keras_bert_zoo.text.charsmap.nfc_charsmap`)
so that offsets and LiteRT keep working.

Example:
>>> import sentencepiece as spm, io
>>> model = io.BytesIO()
>>> spm.SentencePieceTrainer.train(sentence_iterator=iter(["a cat sat on a mat", "the cat ate a rat"] * 50),
...     model_writer=model, vocab_size=16, model_type="unigram", minloglevel=2)
>>> tokenizer = SentencePieceTokenizer(model.getvalue())  # the XLM-R layout: <s> <pad> </s> <unk> first
>>> [tokenizer.id_to_token(i) for i in tokenizer("a cat").numpy()]
['▁a', '▁', 'c', 'at']
>>> tokenizer.detokenize(tokenizer(["a cat"])).numpy().tolist()
[b'a cat']
"""

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import keras
import tensorflow as tf
import tensorflow_text as text

from keras_bert_zoo.text.charsmap import nfc_charsmap, prenormalized_charsmap
from keras_bert_zoo.text.tokenizer import _as_string_batch, _char_length_at, ragged_value_rowids

MODEL_ASSET = "sentencepiece.model"
SPACE = "\u2581"  # "▁", SentencePiece's escaped space
# The characters Rust's `char::is_whitespace` (Unicode White_Space) knows: Hugging Face splits words
# at each of them after normalization; SentencePiece only at those its normalizer turns into spaces.
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009" \
    "\u200a\u2028\u2029\u202f\u205f\u3000"
# Appending `trainer_spec { model_type: CHAR }` to a serialized ModelProto turns it into a character
# model with the same normalizer (protobuf merges a repeated message field): one piece per character.
_AS_CHARACTER_MODEL = b"\x12\x02\x18\x04"
_resource_names = itertools.count()  # resources need distinct names in one SavedModel
UNIGRAM = 1
_NORMALIZER_SPEC, _PRECOMPILED_CHARSMAP = 3, 2  # ModelProto.normalizer_spec, NormalizerSpec.precompiled_charsmap
# NormalizerSpec: add_dummy_prefix (3), remove_extra_whitespaces (4), escape_whitespaces (5), each set to true.
_SPACE_FLAGS = bytes([3 << 3, 1, 4 << 3, 1, 5 << 3, 1])
NORMALIZATIONS = ("model", "nfc")
MODEL_TYPES = {UNIGRAM: "unigram", 2: "BPE", 3: "word", 4: "character"}  # TrainerSpec.ModelType


@dataclass(frozen=True)
class Layout:
    """How a `.model`'s pieces become a model's vocabulary, and which tokens are its specials.

    The vocabulary is `first + pieces[replaces:] + last`; each piece keeps the id of its string in
    that vocabulary. `special` maps a role (pad, unk, cls, sep, mask) to the tokens that may fill it,
    the first one present winning.
    """

    first: tuple = ()
    replaces: int = 0
    last: tuple = ()
    special: dict = field(default_factory=dict)


LAYOUTS = {
    "xlm_roberta": Layout(
        first=("<s>", "<pad>", "</s>", "<unk>"), replaces=3, last=("<mask>",),
        special={"pad": ("<pad>",), "unk": ("<unk>",), "cls": ("<s>",), "sep": ("</s>",), "mask": ("<mask>",)},
    ),
    "plain": Layout(
        special={"pad": ("<pad>", "[PAD]"), "unk": ("<unk>", "[UNK]"), "cls": ("[CLS]", "<s>"),
                 "sep": ("[SEP]", "</s>"), "mask": ("[MASK]", "<mask>")},
    ),
}


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class SentencePieceTokenizer(keras.layers.Layer):
    """SentencePiece unigram tokenizer: strings -> ragged int32 ids, in-graph.

    Matches Hugging Face's fast tokenizer of the same `.model` (without added special tokens):
    the `.model`'s own normalization (e.g. `nmt_nfkc`, or `nmt_nfkc_cf` for lowercasing models),
    words split at every Unicode White_Space character (also U+0085, which SentencePiece's
    normalizer keeps), runs of unknown characters merged into one unknown id. Special tokens
    written in the text ("<mask>") are tokenized as text. Works eagerly, in `tf.function`,
    `tf.data` and exported SavedModels (TF2 and TF1 loaders). Invalid UTF-8 reads as U+FFFD, one
    per bad byte sequence, as Python's `bytes.decode(errors="replace")` gives Hugging Face; offsets
    then index that repaired text (valid UTF-8 is left as it is).

    Known differences from Hugging Face, all from its normalizer working per grapheme cluster
    rather than by SentencePiece's longest match, so ids and spans can differ there: a cluster of
    6 or more UTF-8 bytes (conjoining Hangul jamo, a halfwidth kana with its voiced mark) is
    normalized character by character there, composed here; a shorter cluster whose start only is
    in the normalization table ("o" + U+0302 + U+0323) becomes that start's normalization there,
    the rest of the cluster dropped. Where two splits of a word score exactly the same, the kernel
    and Hugging Face mostly agree but not always (with ALBERT's pieces, one line of the shipped
    texts: "rated eee for" gives "ee e" here, "e ee" there). With `lowercase` / `strip_accents`,
    Hugging Face's steps work on the whole text and the folded table per key, so they differ where
    NFKD would reorder combining marks across characters, and the steps follow Python's Unicode
    tables; the span of a '"' read from "``" or "''" is its first character here, the second
    there (16 of the first 1,200 shipped sample texts). Folding them in costs a few seconds the
    first time a process builds such a tokenizer (`keras_bert_zoo.text.charsmap`, cached per `.model`).

    Args:
        proto: the SentencePiece model: a `.model` path or its bytes.
        layout: "xlm_roberta" or "plain" (see `LAYOUTS`).
        extra_tokens: tokens appended after the layout's vocabulary (DeBERTa-v3: ["[MASK]"]).
        tflite: use only ops LiteRT runs (TFLite export): no offsets, words not split at the
            White_Space characters the normalizer keeps (U+0085 for `nmt_nfkc`), invalid UTF-8 not
            read as U+FFFD: the regex and transcoding ops that do it have no TFLite kernel.
        lowercase, strip_accents, replace_quotes: Hugging Face's `AlbertTokenizer` steps before the
            `.model`'s normalization (`do_lower_case`; NFKD and combining marks dropped, `keep_accents`
            off; "``" and "''" read as '"'), in that tokenizer's order.
        normalization: "model" (the `.model`'s table, as sentencepiece and the fast tokenizers converted from it
            do) or "nfc" (transformers 5's `DebertaV2Tokenizer`: whitespace runs and "\t\n\r" as one space,
            trailing whitespace dropped, NFC). With `tflite=True`, runs of whitespace other than spaces and
            "\t\n\r" (two U+00A0, say) and trailing ones stay as they are: it takes a regex op LiteRT lacks.
            Marks NFC would reorder stay unreordered (its table matches strings as they come).
    """

    def __init__(self, proto=None, layout="xlm_roberta", extra_tokens=(), tflite=False, lowercase=False,
                 strip_accents=False, replace_quotes=False, normalization="model", **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False  # inputs are strings, not float tensors
        self._allow_non_tensor_positional_args = True
        self.built = True
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {sorted(LAYOUTS)}, got {layout!r}.")
        self.layout = layout
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}.")
        if normalization == "nfc" and (lowercase or strip_accents or replace_quotes):
            raise ValueError("normalization='nfc' replaces the .model's table; lowercase, strip_accents and "
                             "replace_quotes fold into that table, so they cannot be combined with it.")
        self.normalization = normalization
        self.extra_tokens = tuple(extra_tokens)
        self.tflite = bool(tflite)
        self.lowercase, self.strip_accents, self.replace_quotes = bool(lowercase), bool(strip_accents), bool(
            replace_quotes)
        self._proto = None
        if proto is not None:
            self.set_vocabulary(proto)

    def set_vocabulary(self, proto):
        """Sets the SentencePiece model (a `.model` path or its bytes); a `.keras` load calls it with the asset."""
        source = "the SentencePiece model given as bytes" if isinstance(proto, bytes) else str(proto)
        if not isinstance(proto, bytes):
            if not Path(proto).is_file():
                raise FileNotFoundError(f"No SentencePiece model file {proto}.")
            proto = Path(proto).read_bytes()
        model = self._normalizing(proto)
        try:
            sentencepiece = text.SentencepieceTokenizer(model, name=_resource_name("inspected"))
        except tf.errors.OpError as error:
            raise ValueError(f"{source} is not a SentencePiece .model: {error.message}") from None
        model_type = _model_type(proto)
        if model_type != UNIGRAM:
            kind = MODEL_TYPES.get(model_type, f"type {model_type}")
            raise ValueError(f"{source}: a {kind} SentencePiece model; only unigram ones are supported "
                             "(XLM-R, ALBERT and DeBERTa-v3 use unigram).")
        pieces = [p.decode() for p in sentencepiece.id_to_string(tf.range(sentencepiece.vocab_size())).numpy()]
        layout = LAYOUTS[self.layout]
        vocabulary = [*layout.first, *pieces[layout.replaces:], *layout.last, *self.extra_tokens]
        token_to_id = {}
        for i, token in enumerate(vocabulary):
            token_to_id.setdefault(token, i)
        missing = [p for p in pieces[: layout.replaces] if p not in token_to_id]
        if missing:
            raise ValueError(
                f"{source}: its first pieces are {pieces[:layout.replaces]}, the {self.layout} layout puts "
                f"{list(layout.first)} in their place; {missing} would have no id."
            )
        self._proto, self._vocabulary, self._token_to_id = proto, vocabulary, token_to_id
        self._sentencepiece = text.FastSentencepieceTokenizer(model)
        self._characters = None if self.tflite else text.SentencepieceTokenizer(
            model + _AS_CHARACTER_MODEL, out_type=tf.string, name=_resource_name("characters")
        )
        model_ids = [token_to_id[p] for p in pieces]
        self._model_ids = tf.constant(model_ids, tf.int32)
        self._spm_unk_id = int(sentencepiece.string_to_id("\x00" * (max(map(len, pieces)) + 1)))
        self._unk_id = model_ids[self._spm_unk_id]  # a Python int: read in graphs too (tf.data masking)
        # Per piece id: how many characters (units of the character model) it spans; whether it starts with "▁".
        self._num_chars = tf.constant([len(p) for p in pieces], tf.int32)
        self._spaced = tf.constant([p.startswith(SPACE) for p in pieces], tf.int32)
        # White_Space characters the normalizer keeps (alone, each gives pieces): replaced by as many
        # spaces as it has bytes, so that offsets keep indexing the input.
        kept = sentencepiece.tokenize(list(WHITE_SPACE)).row_lengths().numpy()
        by_length = {}
        for char, count in zip(WHITE_SPACE, kept):
            if count:
                by_length.setdefault(len(char.encode()), []).append(f"\\x{{{ord(char):x}}}")
        self._kept_white_space = [("[" + "".join(chars) + "]", " " * n) for n, chars in sorted(by_length.items())]

    def _normalizing(self, proto):
        """`proto` with this tokenizer's Hugging Face steps folded into its normalization table: a second
        `normalizer_spec` appended, which protobuf merges into the first (its table replacing the old)."""
        if self.normalization == "nfc":
            return proto + _field(_NORMALIZER_SPEC, _field(_PRECOMPILED_CHARSMAP, nfc_charsmap()) + _SPACE_FLAGS)
        if not (self.lowercase or self.strip_accents or self.replace_quotes):
            return proto
        table = prenormalized_charsmap(_charsmap(proto), self.lowercase, self.strip_accents, self.replace_quotes)
        return proto + _field(_NORMALIZER_SPEC, _field(_PRECOMPILED_CHARSMAP, table))

    def for_tflite(self):
        """This tokenizer with `tflite=True`: what a TFLite export puts in the graph."""
        config = {**self.get_config(), "tflite": True, "name": f"{self.name}_tflite"}
        return SentencePieceTokenizer(self._checked_proto(), **{k: v for k, v in config.items() if k != "proto"})

    def save_assets(self, dir_path):
        """The `.model` goes into a `.keras` file as `sentencepiece.model`, not into its config JSON."""
        (Path(dir_path) / MODEL_ASSET).write_bytes(self._checked_proto())

    def load_assets(self, dir_path):
        self.set_vocabulary(Path(dir_path) / MODEL_ASSET)

    def _checked_proto(self):
        if self._proto is None:
            raise ValueError("This SentencePieceTokenizer has no model yet: pass one, or call set_vocabulary.")
        return self._proto

    @property
    def vocabulary_size(self):
        self._checked_proto()
        return len(self._vocabulary)

    def get_vocabulary(self):
        self._checked_proto()
        return list(self._vocabulary)

    def token_to_id(self, token):
        if token not in self._token_to_id:
            raise KeyError(f"Token {token!r} is not in the vocabulary.")
        return self._token_to_id[token]

    def id_to_token(self, token_id):
        return self._vocabulary[token_id]

    def _special_id(self, role):
        candidates = LAYOUTS[self.layout].special[role]
        for token in candidates:
            if token in self._token_to_id:
                return self._token_to_id[token]
        raise KeyError(f"The {role} token ({' or '.join(candidates)}) is not in this vocabulary.")

    pad_id = property(lambda self: self._special_id("pad"))
    unk_id = property(lambda self: self._unk_id)
    cls_id = property(lambda self: self._special_id("cls"))
    sep_id = property(lambda self: self._special_id("sep"))
    mask_id = property(lambda self: self._special_id("mask"))

    def call(self, inputs):
        """Strings -> ids: a scalar gives a 1-D Tensor, a batch [batch, None] ragged."""
        self._checked_proto()
        inputs, scalar = _as_string_batch(inputs)
        ids = self._sentencepiece.tokenize(self._prepare(inputs)).with_row_splits_dtype(tf.int64)
        ids = ids.with_flat_values(tf.gather(self._model_ids, ids.flat_values))
        return ids[0] if scalar else ids

    def _prepare(self, inputs):
        """Reads invalid UTF-8 as U+FFFD (Python's `decode(errors="replace")`), and replaces the
        White_Space characters the normalizer keeps by spaces, byte for byte."""
        if self.tflite:
            return inputs
        inputs = tf.strings.unicode_transcode(inputs, "UTF-8", "UTF-8", errors="replace")
        if self.normalization == "nfc":
            return _spaced_whitespace_runs(inputs)
        for pattern, spaces in self._kept_white_space:
            inputs = tf.strings.regex_replace(inputs, pattern, spaces)
        return inputs

    def tokenize_with_offsets(self, inputs):
        """Returns `(ids, begin, end)`, begin/end the byte span of each piece in the input, as
        Hugging Face's offsets: a "▁" alone spans the character after it, "▁" before a word adds
        nothing, characters the normalizer drops belong to no piece, and each piece of a
        character the normalizer expands ("ﬁ" -> "f", "i") spans that whole character. Spans
        assume each character of a piece is a piece itself, as in every trained unigram model.

        A run of unknown characters whose normalization changed something ends at SentencePiece's end
        for it: over the dropped characters and combining marks after it, where Hugging Face's ends
        before them. Hugging Face's spans are shifted where its normalizer drops characters at the start
        of the text or after a character it expands (a tokenizers bug); ours are not. transformers 5's
        DeBERTa-v3 tokenizer starts a word's span at the space before it; with `normalization="nfc"` ours
        still start at the word (an answer span then never begins with a space).
        """
        if self.tflite:
            raise ValueError("A SentencePieceTokenizer with tflite=True gives no offsets: use one with tflite=False.")
        self._checked_proto()
        inputs, scalar = _as_string_batch(inputs)
        inputs = self._prepare(inputs)
        spm_ids = self._sentencepiece.tokenize(inputs).with_row_splits_dtype(tf.int64)
        # The character model splits the same normalized text into units: one per character, one per
        # run of unknown characters (as the unigram model's unknown pieces), with SentencePiece's spans.
        chars, char_begin, char_end = self._characters.tokenize_with_offsets(inputs)
        begin, end, first_char_end = self._unit_spans(inputs, chars, char_begin.flat_values, char_end.flat_values)
        flat_ids = spm_ids.flat_values
        unknown = tf.equal(flat_ids, self._spm_unk_id)
        units = tf.where(unknown, 1, tf.gather(self._num_chars, flat_ids))
        row_starts = tf.gather(chars.row_splits, ragged_value_rowids(spm_ids))
        first_unit = row_starts + tf.cast(_exclusive_row_cumsum(units, spm_ids.row_splits), tf.int64)
        # HF puts the "▁" of a word on the word's first character and gives it no span of its own.
        spaced = tf.cast(tf.where(unknown, 0, tf.gather(self._spaced, flat_ids)), tf.int64)
        first = first_unit + spaced
        last = first_unit + tf.cast(units, tf.int64) - 1
        # A "▁" alone spans the first character of the unit after it (of a run of unknown ones too).
        end = tf.where(last < first, tf.gather(first_char_end, first), tf.gather(end, tf.maximum(last, first)))
        values = [tf.gather(self._model_ids, flat_ids), tf.gather(begin, first), end]
        outputs = tuple(spm_ids.with_flat_values(v) for v in values)
        return tuple(t[0] for t in outputs) if scalar else outputs

    def _unit_spans(self, inputs, units, begin, end):
        """HF's byte span of each unit of the character model, and the end of its first character.

        A unit's span is the source character a normalized character comes from (SentencePiece
        gives an expanded character's span to its last part only, and counts dropped characters
        into the previous span); for a run of unknown characters, its source text where
        normalization left it as it was."""
        begin, end = tf.cast(begin, tf.int32), tf.cast(end, tf.int32)
        rows = tf.cast(ragged_value_rowids(units), tf.int32)
        surface = units.flat_values
        lengths = tf.strings.length(surface)
        single = tf.equal(tf.strings.length(surface, unit="UTF8_CHAR"), 1)
        source = tf.strings.substr(tf.gather(inputs, rows), begin, lengths)
        char_end = begin + _char_length_at(inputs, rows, begin)
        run_end = tf.where(tf.equal(source, surface), begin + lengths, tf.maximum(end, char_end))
        return begin, tf.where(single, char_end, run_end), char_end

    def detokenize(self, ids):
        """Ids (dense or ragged, int) -> strings: the pieces joined, "▁" read as a space, as Hugging
        Face's Metaspace decoder does (special tokens are written out: "<s>", "<pad>")."""
        tokens = tf.gather(tf.constant(self.get_vocabulary()), ids)
        joined = tf.strings.reduce_join(tokens, axis=-1)
        return tf.strings.regex_replace(tf.strings.regex_replace(joined, SPACE, " "), "^ ", "")

    def get_config(self):
        config = super().get_config()
        # The .model is an asset (`save_assets`): a .keras file's config stays small.
        config.update({
            "proto": None, "layout": self.layout, "extra_tokens": list(self.extra_tokens), "tflite": self.tflite,
            "lowercase": self.lowercase, "strip_accents": self.strip_accents, "replace_quotes": self.replace_quotes,
            "normalization": self.normalization,
        })
        return config


def _spaced_whitespace_runs(inputs):
    """`inputs` with each White_Space character of a run of two or more, of the trailing run, and each "\t\n\r"
    replaced by as many spaces as its UTF-8 bytes: the `.model`'s `remove_extra_whitespaces` then makes one space of
    a run and drops the trailing one, as transformers 5's DeBERTa normalizer does, while offsets keep indexing
    the input."""
    chars = tf.strings.unicode_split(inputs, "UTF-8")
    space = tf.strings.regex_full_match(chars, "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITE_SPACE) + "]")
    none = tf.zeros_like(space[:, :1])
    before, after = tf.concat([none, space[:, :-1]], axis=1), tf.concat([space[:, 1:], none], axis=1)
    position = tf.ragged.range(chars.row_lengths())
    last_other = tf.reduce_max(tf.ragged.map_flat_values(tf.where, ~space, position, -1), axis=1)
    trailing = position > tf.expand_dims(last_other, 1)
    spaced = space & (before | after | trailing | tf.strings.regex_full_match(chars, "[\t\n\r]"))
    lengths = tf.strings.length(chars.flat_values)
    blanks = tf.strings.substr(tf.fill(tf.shape(lengths), "    "), tf.zeros_like(lengths), lengths)
    chars = chars.with_flat_values(tf.where(spaced.flat_values, blanks, chars.flat_values))
    return tf.strings.reduce_join(chars, axis=1)


def _resource_name(kind):
    """A process-unique name: in a reloaded SavedModel, same-named SentencePiece resources are one."""
    return f"sentencepiece_{kind}_{next(_resource_names)}"


def _model_type(proto):
    """`trainer_spec.model_type` of a serialized ModelProto (by hand: the `protobuf` classes of
    sentencepiece's proto come with the sentencepiece package, which the package does not need)."""
    model_type = UNIGRAM
    for number, value in _fields(proto):
        if number == 2:  # trainer_spec
            model_type = next((v for n, v in _fields(value) if n == 3), model_type)
    return model_type


def _charsmap(proto):
    """`normalizer_spec.precompiled_charsmap` of a serialized ModelProto (the last one: protobuf merges)."""
    table = b""
    for number, value in _fields(proto):
        if number == _NORMALIZER_SPEC:
            table = next((v for n, v in reversed(list(_fields(value))) if n == _PRECOMPILED_CHARSMAP), table)
    return table


def _field(number, payload):
    """A length-delimited protobuf field."""
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


def _encode_varint(value):
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _fields(message):
    """(field number, value) of a serialized protobuf message: ints for varints, bytes otherwise."""
    position = 0
    while position < len(message):
        key, position = _varint(message, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, position = _varint(message, position)
        elif wire_type == 2:
            length, position = _varint(message, position)
            value, position = message[position:position + length], position + length
        else:  # 32- or 64-bit
            size = 4 if wire_type == 5 else 8
            value, position = message[position:position + size], position + size
        yield number, value


def _varint(data, position):
    value = shift = 0
    while True:
        byte = data[position]
        value |= (byte & 0x7F) << shift
        position, shift = position + 1, shift + 7
        if byte < 0x80:
            return value, position


def _exclusive_row_cumsum(values, row_splits):
    """Per row of a ragged tensor (flat `values`, `row_splits`): the sum of the values before each."""
    total = tf.cumsum(values, exclusive=True)
    padded = tf.concat([total, tf.reduce_sum(values, keepdims=True)], axis=0)
    row_base = tf.gather(padded, row_splits[:-1])
    return total - tf.repeat(row_base, row_splits[1:] - row_splits[:-1])
