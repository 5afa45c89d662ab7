"""A Hugging Face `tokenizer.json` of a SentencePiece unigram model -> that `.model`'s bytes.

transformers 5 saves an XLM-R tokenizer as `tokenizer.json` alone (no `sentencepiece.bpe.model`). It
holds all a `.model` needs: the pieces and scores (`model.vocab`, in the model family's id layout), the
unknown piece (`model.unk_id`), the normalizer's precompiled character map and the Metaspace
pre-tokenizer's dummy prefix. `sentencepiece_model_of_tokenizer_json` writes them back into a
SentencePiece `ModelProto` (sentencepiece's own `sentencepiece_model_pb2`), which
`SentencePieceTokenizer` reads as it reads the original `.model`.

Example:
>>> import json
>>> vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0], ["▁a", -1.0], ["▁b", -2.0], ["<mask>", 0.0]]
>>> _ = open("tokenizer.json", "w", encoding="utf-8").write(json.dumps({
...     "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab},
...     "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always"}}))
>>> from keras_bert_zoo.text.sentencepiece import SentencePieceTokenizer
>>> SentencePieceTokenizer(sentencepiece_model_of_tokenizer_json("tokenizer.json"))(["a b c"]).to_list()
[[4, 5, 3]]
"""

import base64
import json

from keras_bert_zoo.checkpoints import read_config_json
from keras_bert_zoo.errors import CheckpointError
from keras_bert_zoo.text.sentencepiece import LAYOUTS, SPACE

# The pieces a layout's first tokens stand in for: fairseq's sentencepiece.bpe.model starts <unk> <s> </s>.
REPLACED_PIECES = {"xlm_roberta": ("<unk>", "<s>", "</s>"), "plain": ()}
# Normalizers that change nothing a .model's normalizer does not: runs of spaces to one (its
# remove_extra_whitespaces), as Hugging Face's converter writes it.
_COLLAPSE_SPACES = {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}


def sentencepiece_model_of_tokenizer_json(path, layout="xlm_roberta"):
    """The serialized SentencePiece `ModelProto` a unigram `tokenizer.json` was converted from; `layout`
    says how its vocabulary's ids map to the `.model`'s (see `sentencepiece.LAYOUTS`)."""
    try:
        from sentencepiece import sentencepiece_model_pb2  # imported here: only this needs the package
    except ImportError:
        raise ImportError(f"Reading {path} without its .model file needs the sentencepiece package "
                          "(pip install sentencepiece).") from None
    data = read_config_json(path)
    model = data.get("model") or {}
    if model.get("type") != "Unigram":
        raise CheckpointError(f"{path}: model type {model.get('type')!r}; a SentencePiece tokenizer is read from "
                              "a \"Unigram\" tokenizer.json (or from its .model file).")
    if model.get("byte_fallback"):
        raise CheckpointError(f"{path}: a unigram model with byte fallback, which SentencePieceTokenizer does not "
                              "read.")
    vocab, unk_id = model.get("vocab"), model.get("unk_id")
    if not isinstance(vocab, list) or not all(isinstance(v, list) and len(v) == 2 for v in vocab) or (
            not isinstance(unk_id, int) or not 0 <= unk_id < len(vocab)):
        raise CheckpointError(f"{path}: model.vocab is not a list of [piece, score] with model.unk_id in it.")
    Piece = sentencepiece_model_pb2.ModelProto.SentencePiece
    special = {t["content"] for t in data.get("added_tokens", []) if t.get("special")}
    pieces = _pieces(path, vocab, unk_id, layout, special, Piece)
    proto = sentencepiece_model_pb2.ModelProto()
    proto.pieces.extend(pieces)
    proto.trainer_spec.model_type = sentencepiece_model_pb2.TrainerSpec.UNIGRAM
    proto.trainer_spec.vocab_size = len(pieces)
    proto.trainer_spec.byte_fallback = False
    proto.trainer_spec.pad_id = -1
    for role in ("unk", "bos", "eos"):
        setattr(proto.trainer_spec, f"{role}_id", -1)
    for i, piece in enumerate(pieces):
        if piece.type == Piece.UNKNOWN:
            proto.trainer_spec.unk_id, proto.trainer_spec.unk_piece = i, piece.piece
        elif piece.piece in ("<s>", "</s>"):
            setattr(proto.trainer_spec, "bos_id" if piece.piece == "<s>" else "eos_id", i)
    charsmap = _precompiled_charsmap(path, data.get("normalizer"))
    proto.normalizer_spec.name = "user_defined" if charsmap else "identity"
    proto.normalizer_spec.precompiled_charsmap = charsmap
    proto.normalizer_spec.add_dummy_prefix = _dummy_prefix(path, data.get("pre_tokenizer"))
    proto.normalizer_spec.remove_extra_whitespaces = True
    proto.normalizer_spec.escape_whitespaces = True
    return proto.SerializeToString()


def _pieces(path, vocab, unk_id, layout, special, Piece):  # noqa: N803 (a protobuf class)
    """The `.model`'s pieces: the layout's replaced pieces, then the vocabulary between its first and last tokens."""
    first, last = LAYOUTS[layout].first, LAYOUTS[layout].last
    tokens = [token for token, _ in vocab]
    if tuple(tokens[:len(first)]) != first or tuple(tokens[len(tokens) - len(last):]) != last:
        raise CheckpointError(f"{path}: its vocabulary starts {tokens[:len(first)]} and ends "
                              f"{tokens[len(tokens) - len(last):]}; the {layout} layout has {list(first)} first and "
                              f"{list(last)} last.")
    unk = tokens[unk_id]
    pieces = [Piece(piece=p, score=0.0, type=Piece.UNKNOWN if p == unk else Piece.CONTROL)
              for p in REPLACED_PIECES[layout]]
    for i, (token, score) in enumerate(vocab[len(first):len(vocab) - len(last)], len(first)):
        kind = Piece.UNKNOWN if i == unk_id else Piece.CONTROL if token in special else Piece.NORMAL
        pieces.append(Piece(piece=token, score=float(score), type=kind))
    if sum(p.type == Piece.UNKNOWN for p in pieces) != 1:
        raise CheckpointError(f"{path}: its unknown piece {unk!r} (model.unk_id {unk_id}) is not one of the "
                              f"{layout} layout's pieces.")
    return pieces


def _precompiled_charsmap(path, normalizer):
    """The Precompiled normalizer's character map (bytes; none: b"")."""
    parts = [] if normalizer is None else normalizer.get("normalizers", []) if normalizer.get(
        "type") == "Sequence" else [normalizer]
    charsmap = b""
    for part in parts:
        if part.get("type") == "Precompiled":
            charsmap = base64.b64decode(part.get("precompiled_charsmap") or "")
        elif part != _COLLAPSE_SPACES:
            raise CheckpointError(f"{path}: normalizer {part.get('type')!r} ({json.dumps(part)[:80]}); a "
                                  "SentencePiece tokenizer.json normalizes with \"Precompiled\" only.")
    return charsmap


def _dummy_prefix(path, pre_tokenizer):
    """Whether the Metaspace pre-tokenizer puts "▁" before the text (SentencePiece's add_dummy_prefix)."""
    parts = (pre_tokenizer or {}).get("pretokenizers", [pre_tokenizer or {}])
    kinds = [p.get("type") for p in parts]
    metaspace = [p for p in parts if p.get("type") == "Metaspace"]
    if len(metaspace) != 1 or set(kinds) - {"Metaspace", "WhitespaceSplit"} or metaspace[0].get(
            "replacement", SPACE) != SPACE:
        raise CheckpointError(f"{path}: pre-tokenizer {kinds}; a SentencePiece tokenizer.json has one Metaspace "
                              f"(replacement {SPACE!r}), after a WhitespaceSplit or alone.")
    scheme = metaspace[0].get("prepend_scheme")
    return scheme in ("always", "first") if scheme is not None else bool(metaspace[0].get("add_prefix_space", True))
