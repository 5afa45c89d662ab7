"""The tokenizer files of a Hugging Face (or Google) checkpoint folder -> our in-graph tokenizer layer.

Each family names its tokenizer class (`Family.tokenizer`); this module finds that class's files in a
folder, in the forms Hugging Face writes them:
- WordPiece (`BertTokenizer`): `vocab.txt`, casing from `tokenizer_config.json` (else the vocabulary).
- Byte-level BPE (`BytePairTokenizer`): `vocab.json` + `merges.txt`, or `tokenizer.json` alone (what
  transformers 5 saves), `add_prefix_space` from `tokenizer_config.json` / `tokenizer.json`.
- SentencePiece (`SentencePieceTokenizer`): the folder's `.model` file (`sentencepiece.bpe.model`,
  `spiece.model`, `spm.model`), or `tokenizer.json` alone (what transformers 5 saves), turned back into
  that `.model` (`sentencepiece_json`); ALBERT's (the family's options ask for `replace_quotes`) also takes
  `do_lower_case` and `keep_accents` from `tokenizer_config.json`, as `AlbertTokenizer` does.

`write_tokenizer_files` writes a tokenizer back in those forms, so transformers' `AutoTokenizer` loads the folder.

Example:
>>> tokenizer_from_checkpoint("roberta_folder", "BytePairTokenizer")  # doctest: +SKIP
"""

import json
import shutil
import tempfile
from pathlib import Path

from keras_bert_zoo.checkpoints import read_config_json
from keras_bert_zoo.errors import CheckpointError
from keras_bert_zoo.text.byte_pair import BytePairTokenizer
from keras_bert_zoo.text.sentencepiece import SentencePieceTokenizer
from keras_bert_zoo.text.sentencepiece_json import sentencepiece_model_of_tokenizer_json
from keras_bert_zoo.text.tokenizer import BertTokenizer, checkpoint_vocabulary


def tokenizer_from_checkpoint(folder, class_name, **options):
    """The `class_name` tokenizer (a layer of `keras_bert_zoo.text`) built from `folder`'s files;
    `options` go to its constructor (e.g. a SentencePiece `layout`)."""
    folder = Path(folder)
    if not folder.is_dir():
        folder = folder.parent  # a file inside the folder, e.g. a Google checkpoint prefix
    if class_name not in _FILES:
        raise ValueError(f"No loader for tokenizer class {class_name!r}.")
    cls, files = _FILES[class_name]
    kwargs = {**files(folder, options), **options}  # options win (a preset's own casing)
    if class_name == "SentencePieceTokenizer" and kwargs.get("replace_quotes"):  # ALBERT
        kwargs.update(_albert_casing(folder))
    return cls(**kwargs)


def write_tokenizer_files(tokenizer, folder):
    """Writes `tokenizer`'s files into the checkpoint folder `folder` as Hugging Face names them (vocab.txt;
    vocab.json + merges.txt; sentencepiece.bpe.model, spm.model (DeBERTa-v3) or spiece.model), with a
    tokenizer_config.json."""
    folder = Path(folder)
    with tempfile.TemporaryDirectory() as assets:
        tokenizer.save_assets(assets)  # the layer's own files, renamed below where HF's names differ
        names = {"vocabulary.txt": "vocab.txt", "sentencepiece.model": (
            "sentencepiece.bpe.model" if getattr(tokenizer, "layout", "") == "xlm_roberta" else
            "spm.model" if getattr(tokenizer, "extra_tokens", ()) == ("[MASK]",) else  # DeBERTa-v3
            "spiece.model")}
        for file in Path(assets).iterdir():
            shutil.copyfile(file, folder / names.get(file.name, file.name))
    config = {}
    if isinstance(tokenizer, BertTokenizer):
        config["do_lower_case"] = tokenizer.lowercase
    if isinstance(tokenizer, BytePairTokenizer):
        config["add_prefix_space"] = tokenizer.add_prefix_space
    if isinstance(tokenizer, SentencePieceTokenizer) and tokenizer.replace_quotes:  # ALBERT
        config.update(do_lower_case=tokenizer.lowercase, keep_accents=not tokenizer.strip_accents)
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


def _wordpiece_files(folder, _options):
    vocab_file, lowercase = checkpoint_vocabulary(folder)
    return {"vocabulary": vocab_file, "lowercase": lowercase}


def _byte_pair_files(folder, _options):
    config = _tokenizer_config(folder)
    if (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
        kwargs = {"vocabulary": folder / "vocab.json", "merges": folder / "merges.txt"}
    elif (folder / "tokenizer.json").is_file():
        kwargs = _byte_pair_of_tokenizer_json(folder / "tokenizer.json")
    else:
        raise FileNotFoundError(f"{folder} has no byte-level BPE tokenizer files: neither vocab.json + merges.txt "
                                "nor tokenizer.json.")
    if "add_prefix_space" in config:
        kwargs["add_prefix_space"] = bool(config["add_prefix_space"])
    return kwargs


def _byte_pair_of_tokenizer_json(path):
    """`vocabulary` and `merges` of a Hugging Face `tokenizer.json` whose model is a byte-level BPE."""
    data = read_config_json(path)
    model = data.get("model") or {}
    if model.get("type") != "BPE":
        raise CheckpointError(f"{path}: model type {model.get('type')!r}, not the byte-level BPE "
                              "(\"BPE\") this family uses.")
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    kwargs = {"vocabulary": dict(model.get("vocab", {})), "merges": merges}
    for token in data.get("added_tokens", []):  # <mask> and friends may live only there
        kwargs["vocabulary"].setdefault(token["content"], token["id"])
    pre_tokenizer = data.get("pre_tokenizer") or {}
    if "add_prefix_space" in pre_tokenizer:
        kwargs["add_prefix_space"] = bool(pre_tokenizer["add_prefix_space"])
    return kwargs


def _sentencepiece_files(folder, options):
    models = sorted(folder.glob("*.model"))
    if not models and (folder / "tokenizer.json").is_file():  # transformers 5 saves this alone
        layout = options.get("layout", "xlm_roberta")
        return {"proto": sentencepiece_model_of_tokenizer_json(folder / "tokenizer.json", layout)}
    if len(models) != 1:
        found = ", ".join(p.name for p in models) or "none"
        raise FileNotFoundError(f"{folder} needs exactly one SentencePiece .model file (sentencepiece.bpe.model, "
                                f"spiece.model, spm.model) or a tokenizer.json; found {found}.")
    return {"proto": models[0]}


def _albert_casing(folder):
    """`AlbertTokenizer`'s casing and accents from tokenizer_config.json (its defaults: lowercase, no accents)."""
    config = _tokenizer_config(folder)
    return {"lowercase": bool(config.get("do_lower_case", True)),
            "strip_accents": not config.get("keep_accents", False)}


def _tokenizer_config(folder):
    path = folder / "tokenizer_config.json"
    return read_config_json(path) if path.is_file() else {}


_FILES = {
    "BertTokenizer": (BertTokenizer, _wordpiece_files),
    "BytePairTokenizer": (BytePairTokenizer, _byte_pair_files),
    "SentencePieceTokenizer": (SentencePieceTokenizer, _sentencepiece_files),
}
