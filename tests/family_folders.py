"""Tiny Hugging Face checkpoint folders of every family, tokenizer files included, as users have them.

`family_folder(root, family, head)` writes a transformers model with random (perturbed) weights and the
family's real kind of tokenizer files: RoBERTa the roberta-base vocab.json + merges.txt (tests/data/roberta_bpe),
XLM-R a small SentencePiece unigram model trained on shipped SST-2 sentences, DistilBERT, ELECTRA and BERT the
uncased vocab.txt, ALBERT a spiece.model of its real piece list (tests/data/albert), DeBERTa-v3 such a
trained model as spm.model with DeBERTa's [PAD] [CLS] [SEP] [UNK] as ids 0-3.
`hf_tokenizer(folder)` is transformers' own tokenizer of the folder (the reference).
"""

import functools
import io
import json
import shutil
from pathlib import Path

from helpers import perturbed_hf_model

ROOT = Path(__file__).parents[1]
ROBERTA_BPE = ROOT / "tests" / "data" / "roberta_bpe"
UNCASED = ROOT / "keras_bert_zoo" / "vocab" / "uncased.txt"
SST2 = ROOT / "recipes" / "data" / "sst2"
ALBERT_VOCAB = ROOT / "tests" / "data" / "albert" / "30k-clean.vocab.gz"
FAMILIES = ("bert", "roberta", "xlm-roberta", "distilbert", "electra", "albert", "deberta-v2")
DEBERTA_SPECIALS = dict(pad_id=0, bos_id=1, eos_id=2, unk_id=3, pad_piece="[PAD]", bos_piece="[CLS]",
                        eos_piece="[SEP]", unk_piece="[UNK]")
SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64}


def sst2_sentences(split="train", limit=None):
    lines = (SST2 / f"{split}.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[0] for line in lines[:limit]]


def _sentencepiece_model(size=1000, **specials):
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(sst2_sentences()), model_writer=model, vocab_size=size, model_type="unigram",
        minloglevel=2, byte_fallback=False, **specials)
    return model.getvalue()


@functools.cache
def albert_spiece_model():
    """ALBERT's spiece.model rebuilt: its real 30,000 pieces and scores (tests/data/albert), <unk> the unknown
    piece, <pad> [CLS] [SEP] [MASK] control pieces, and the `nmt_nfkc` normalizer (of a small trained model)."""
    import gzip

    import sentencepiece
    from sentencepiece import sentencepiece_model_pb2

    trained = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(sst2_sentences(limit=300)), model_writer=trained, vocab_size=200, model_type="unigram",
        normalization_rule_name="nmt_nfkc", minloglevel=2)
    proto = sentencepiece_model_pb2.ModelProto.FromString(trained.getvalue())
    del proto.pieces[:]
    kinds = {"<unk>": proto.SentencePiece.UNKNOWN, **dict.fromkeys(("<pad>", "[CLS]", "[SEP]", "[MASK]"),
                                                                    proto.SentencePiece.CONTROL)}
    for line in gzip.decompress(ALBERT_VOCAB.read_bytes()).decode("utf-8").splitlines():
        piece, score = line.split("\t")
        proto.pieces.add(piece=piece, score=float(score), type=kinds.get(piece, proto.SentencePiece.NORMAL))
    spec = proto.trainer_spec
    spec.vocab_size, spec.unk_id, spec.pad_id, spec.bos_id, spec.eos_id = len(proto.pieces), 1, 0, -1, -1
    return proto.SerializeToString()


def _config(family, num_labels):
    import transformers

    labels = {"id2label": {i: f"LABEL_{i}" for i in range(num_labels)},
              "label2id": {f"LABEL_{i}": i for i in range(num_labels)}}
    if family == "bert":
        return transformers.BertConfig(vocab_size=30522, **SMALL, **labels)
    if family == "deberta-v2":  # DeBERTa-v3's options, 8 log buckets; [MASK] after the 1000 pieces
        return transformers.DebertaV2Config(
            vocab_size=1000 + 1, max_position_embeddings=128, relative_attention=True, position_buckets=8,
            pos_att_type="p2c|c2p", share_att_key=True, norm_rel_ebd="layer_norm", position_biased_input=False,
            type_vocab_size=0, **SMALL, **labels)
    if family == "albert":
        return transformers.AlbertConfig(vocab_size=30000, embedding_size=16, **SMALL, **labels)
    if family == "distilbert":
        return transformers.DistilBertConfig(vocab_size=30522, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                                             **labels)
    if family == "electra":
        return transformers.ElectraConfig(vocab_size=30522, embedding_size=16, **SMALL, **labels)
    cls = transformers.RobertaConfig if family == "roberta" else transformers.XLMRobertaConfig
    vocab_size = 50265 if family == "roberta" else 1000 - 3 + 4 + 1  # fairseq: 4 specials first, <mask> last
    return cls(vocab_size=vocab_size, max_position_embeddings=130, type_vocab_size=1, pad_token_id=1,
               bos_token_id=0, eos_token_id=2, **SMALL, **labels)


def family_folder(root, family, head="ForSequenceClassification", num_labels=2, seed=0):
    """A folder `root/<family>-<head>` with config.json, model.safetensors and the family's tokenizer files."""
    import transformers

    folder = Path(root) / f"{family}-{head}"
    if folder.is_dir():
        return folder
    prefix = {"bert": "Bert", "roberta": "Roberta", "xlm-roberta": "XLMRoberta", "distilbert": "DistilBert",
              "electra": "Electra", "albert": "Albert", "deberta-v2": "DebertaV2"}[family]
    cls = getattr(transformers, prefix + ("Model" if head == "Model" else head))
    model = perturbed_hf_model(cls, _config(family, num_labels), seed=seed)
    model.config.architectures = [cls.__name__]
    model.save_pretrained(folder)
    if family == "roberta":
        for name in ("vocab.json", "merges.txt"):
            shutil.copy(ROBERTA_BPE / name, folder / name)
    elif family == "xlm-roberta":
        (folder / "sentencepiece.bpe.model").write_bytes(_sentencepiece_model())
    elif family == "deberta-v2":
        (folder / "spm.model").write_bytes(_sentencepiece_model(**DEBERTA_SPECIALS))
    elif family == "albert":
        (folder / "spiece.model").write_bytes(albert_spiece_model())
    else:
        shutil.copy(UNCASED, folder / "vocab.txt")
        (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}))
    return folder


def hf_tokenizer(folder):
    """transformers' fast tokenizer of `folder` (the class its config's model_type names)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder))
