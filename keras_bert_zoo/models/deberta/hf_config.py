"""DeBERTa-v2/v3 config.json (transformers' `DebertaV2Config`, model_type "deberta-v2") <-> DebertaV3Encoder
arguments.

Keys a config leaves out take transformers' defaults, which are DeBERTa-v2's (no relative attention,
absolute positions): the v3 checkpoints spell out relative_attention, position_buckets, pos_att_type,
share_att_key, norm_rel_ebd and position_biased_input=false.

>>> config = {"vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
...           "intermediate_size": 37, "pos_att_type": "p2c|c2p", "relative_attention": True}
>>> kwargs = config_from_hf(config, "config.json")
>>> kwargs["position_terms"], kwargs["position_buckets"], kwargs["position_biased_input"]
(['c2p', 'p2c'], -1, True)
"""

import re

from keras_bert_zoo.errors import CheckpointError, CheckpointMismatchError
from keras_bert_zoo.layers import HF_ACTIVATIONS
from keras_bert_zoo.models.deberta.attention import POSITION_TERMS

PREFIX = "deberta"
KEYS = {  # config.json key -> DebertaV3Encoder argument, with transformers' default
    "vocab_size": ("vocabulary_size", None),
    "num_hidden_layers": ("num_layers", None),
    "num_attention_heads": ("num_heads", None),
    "hidden_size": ("hidden_dim", None),
    "intermediate_size": ("intermediate_dim", None),
    "max_position_embeddings": ("max_sequence_length", 512),
    "type_vocab_size": ("num_segments", 0),
    "position_biased_input": ("position_biased_input", True),
    "relative_attention": ("relative_attention", False),
    "position_buckets": ("position_buckets", -1),
    "max_relative_positions": ("max_relative_positions", -1),
    "share_att_key": ("share_att_key", False),
    "hidden_dropout_prob": ("dropout", 0.1),
    "attention_probs_dropout_prob": ("attention_dropout", 0.1),
    "layer_norm_eps": ("layer_norm_epsilon", 1e-7),
}
_REQUIRED = ("vocab_size", "num_hidden_layers", "num_attention_heads", "hidden_size", "intermediate_size")
_POSITIVE = (*_REQUIRED, "max_position_embeddings", "embedding_size", "pooler_hidden_size")
_FLAGS = ("position_biased_input", "relative_attention", "share_att_key", "legacy")
_RATES = ("hidden_dropout_prob", "attention_probs_dropout_prob", "pooler_dropout", "cls_dropout")
POOLED_HEADS = ("ForSequenceClassification", "ForMultipleChoice")  # the classes with transformers' ContextPooler


def _fail(path, message):
    raise CheckpointError(f"{path}: {message}")


def _position_terms(config, path):
    terms = config.get("pos_att_type") or []
    if isinstance(terms, str):
        terms = [term.strip() for term in terms.lower().split("|")]
    if not isinstance(terms, list) or set(terms) - set(POSITION_TERMS):
        _fail(path, f"pos_att_type={config['pos_att_type']!r} is not made of {' and '.join(POSITION_TERMS)}.")
    return [term for term in POSITION_TERMS if term in terms]


def _check(config, path):
    missing = [key for key in _REQUIRED if key not in config]
    if missing:
        _fail(path, f"lacks {', '.join(missing)}; it is not a DeBERTa-v2/v3 config.")
    for key in _POSITIVE:
        if key in config and (type(config[key]) is not int or config[key] < 1):
            _fail(path, f"{key}={config[key]!r} is not a positive integer.")
    for key in ("type_vocab_size", "position_buckets", "max_relative_positions"):
        if key in config and type(config[key]) is not int:
            _fail(path, f"{key}={config[key]!r} is not an integer.")
    if config["hidden_size"] % config["num_attention_heads"]:
        _fail(path, f"hidden_size={config['hidden_size']} is not divisible by "
                    f"num_attention_heads={config['num_attention_heads']}.")
    for key in _FLAGS:
        if not isinstance(config.get(key, False), bool):
            _fail(path, f"{key}={config[key]!r} is not true or false.")
    for key in _RATES:
        value = config.get(key)
        if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool) and
                                      0 <= value < 1):
            _fail(path, f"{key}={value!r} is not a number in [0, 1).")
    if config.get("conv_kernel_size", 0):
        _fail(path, f"conv_kernel_size={config['conv_kernel_size']!r}: DeBERTa-v2's convolution layer is not "
                    "supported (DeBERTa-v3 has none).")
    head_size = config.get("attention_head_size", config["hidden_size"] // config["num_attention_heads"])
    if head_size * config["num_attention_heads"] != config["hidden_size"]:
        _fail(path, f"attention_head_size={head_size} times num_attention_heads is not hidden_size; not supported.")
    norm = config.get("norm_rel_ebd", "none")
    if not isinstance(norm, str) or set(part.strip() for part in norm.lower().split("|")) - {"none", "layer_norm"}:
        _fail(path, f"norm_rel_ebd={norm!r} is not 'layer_norm' or 'none'.")
    for key in ("hidden_act", "pooler_hidden_act"):
        if config.get(key, "gelu") not in HF_ACTIVATIONS:
            _fail(path, f"{key}={config[key]!r} is not one of {sorted(HF_ACTIVATIONS)}.")
    if any(name.endswith(POOLED_HEADS) for name in config.get("architectures") or []):
        if config.get("pooler_hidden_act", "gelu") != "gelu":
            _fail(path, f"pooler_hidden_act={config['pooler_hidden_act']!r}: the classification heads here "
                        "apply the exact GELU (pooler_hidden_act='gelu') as the public checkpoints do.")
        if config.get("pooler_hidden_size", config["hidden_size"]) != config["hidden_size"]:
            _fail(path, f"pooler_hidden_size={config['pooler_hidden_size']} differs from "
                        f"hidden_size={config['hidden_size']}; not supported.")


def config_from_hf(config, path):
    """DebertaV3Encoder kwargs from the JSON of a config.json (`path`, named in errors); CheckpointError
    naming the file and the key that is wrong."""
    _check(config, path)
    kwargs = {ours: config.get(theirs, default) for theirs, (ours, default) in KEYS.items()}
    kwargs.update(
        embedding_dim=config.get("embedding_size", config["hidden_size"]),
        position_terms=_position_terms(config, path),
        norm_relative_embeddings="layer_norm" in config.get("norm_rel_ebd", "none").lower(),
        activation=HF_ACTIVATIONS[config.get("hidden_act", "gelu")],
    )
    return kwargs


def _sizes(config_json):
    """{config key: (HF tensor name without `deberta.`, axis, expected length)} of the sizes a config sets."""
    sizes = {"vocab_size": ("embeddings.word_embeddings.weight", 0, config_json["vocab_size"]),
             "embedding_size": ("embeddings.word_embeddings.weight", 1,
                                config_json.get("embedding_size", config_json["hidden_size"])),
             "intermediate_size": ("encoder.layer.0.intermediate.dense.weight", 0, config_json["intermediate_size"])}
    if config_json.get("type_vocab_size", 0) > 0:
        sizes["type_vocab_size"] = ("embeddings.token_type_embeddings.weight", 0, config_json["type_vocab_size"])
    if config_json.get("relative_attention", False):
        buckets, reach = config_json.get("position_buckets", -1), config_json.get("max_relative_positions", -1)
        span = buckets if buckets > 0 else (reach if reach > 0 else config_json.get("max_position_embeddings", 512))
        sizes["position_buckets"] = ("encoder.rel_embeddings.weight", 0, 2 * span)
    return sizes


def check_sizes(config_json, shapes, config_file, weights, display_name=str):
    """Refuses a config whose sizes the weights do not have, before a model is built from it.

    `shapes`: {HF name: shape} of the weights (from file headers), so a config asking for a huge model
    over small files fails here instead of allocating it.
    """
    config_from_hf(config_json, config_file)
    shapes = {name.removeprefix(f"{PREFIX}."): tuple(shape) for name, shape in shapes.items()}
    problems = {}  # ordered, without repeats
    for key, (name, axis, want) in _sizes(config_json).items():
        shape, shown = shapes.get(name), display_name(f"{PREFIX}.{name}")
        if shape is None or len(shape) != 2:
            problems[f"{shown} is missing" if shape is None else f"{shown} has shape {shape}, not 2-D"] = None
        elif want != shape[axis]:
            said = "2 * " + ("position_buckets" if config_json.get("position_buckets", -1) > 0 else
                             "max_relative_positions") if key == "position_buckets" else key
            problems[f"{said}={want} but {shown} says {shape[axis]}"] = None
    layers = {int(m.group(1)) for name in shapes if (m := re.match(r"encoder\.layer\.(\d+)\.", name))}
    if config_json["num_hidden_layers"] != len(layers):
        problems[f"num_hidden_layers={config_json['num_hidden_layers']} but the weights hold {len(layers)} "
                 "layers"] = None
    if problems:
        raise CheckpointMismatchError(f"{config_file}: does not match {weights}: " + "; ".join(problems) + ".")


def config_to_hf(encoder, architecture):
    """A transformers `DebertaV2Config` dict for `encoder`, holding `architecture` (the masked-LM head in
    transformers' default, legacy `cls.predictions` layout)."""
    config = {"architectures": [architecture], "model_type": "deberta-v2"}
    for theirs, (ours, _) in KEYS.items():
        config[theirs] = getattr(encoder, ours)
    config.update(
        embedding_size=encoder.embedding_dim,
        pos_att_type=list(encoder.position_terms),
        norm_rel_ebd="layer_norm" if encoder.norm_relative_embeddings else "none",
        hidden_act={"gelu": "gelu", "gelu_approximate": "gelu_new"}.get(encoder.activation, encoder.activation),
        initializer_range=0.02,
        pad_token_id=0,
        pooler_hidden_size=encoder.hidden_dim,
        pooler_hidden_act="gelu",
        pooler_dropout=0.0,
        legacy=True,
    )
    return config
