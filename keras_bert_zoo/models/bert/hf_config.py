"""BERT config files (HF config.json, Google bert_config.json) <-> BertEncoder arguments."""

import re

from keras_bert_zoo.errors import CheckpointError, CheckpointMismatchError
from keras_bert_zoo.layers import HF_ACTIVATIONS

KEYS = {  # checkpoint key -> BertEncoder argument
    "vocab_size": "vocabulary_size",
    "num_hidden_layers": "num_layers",
    "num_attention_heads": "num_heads",
    "hidden_size": "hidden_dim",
    "intermediate_size": "intermediate_dim",
    "max_position_embeddings": "max_sequence_length",
    "type_vocab_size": "num_segments",
    "hidden_dropout_prob": "dropout",
    "hidden_act": "activation",
    "layer_norm_eps": "layer_norm_epsilon",
}
_REQUIRED = ("vocab_size", "num_hidden_layers", "num_attention_heads", "hidden_size", "intermediate_size")


_POSITIVE_INTEGERS = ("vocab_size", "num_hidden_layers", "num_attention_heads", "hidden_size",
                      "intermediate_size", "max_position_embeddings", "type_vocab_size")


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def config_from_hf(config, path, family="BERT"):
    """BertEncoder kwargs from the JSON of a config.json / bert_config.json (`path`, named in errors);
    CheckpointError naming what is wrong. `family` names the config's family in the messages (the
    RoBERTa family shares these keys)."""
    missing = [key for key in _REQUIRED if key not in config]
    if missing:
        raise CheckpointError(f"{path}: lacks {', '.join(missing)}; it is not a {family} config.")
    for key in _POSITIVE_INTEGERS:
        if key in config and (type(config[key]) is not int or config[key] < 1):
            raise CheckpointError(f"{path}: {key}={config[key]!r} is not a positive integer.")
    if config["hidden_size"] % config["num_attention_heads"]:
        raise CheckpointError(
            f"{path}: hidden_size={config['hidden_size']} is not divisible by "
            f"num_attention_heads={config['num_attention_heads']}."
        )
    dropout, epsilon = config.get("hidden_dropout_prob", 0.0), config.get("layer_norm_eps", 1e-12)
    if not (_number(dropout) and 0 <= dropout < 1):
        raise CheckpointError(f"{path}: hidden_dropout_prob={dropout!r} is not a number in [0, 1).")
    if not (_number(epsilon) and epsilon > 0):
        raise CheckpointError(f"{path}: layer_norm_eps={epsilon!r} is not a positive number.")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise CheckpointError(
            f"{path}: position_embedding_type={config['position_embedding_type']!r} is not supported "
            f"(only {family}'s absolute position embeddings are)."
        )
    activation = config.get("hidden_act", "gelu")
    if not isinstance(activation, str) or activation not in HF_ACTIVATIONS:
        raise CheckpointError(f"{path}: hidden_act={activation!r} is not one of {sorted(HF_ACTIVATIONS)}.")
    kwargs = {ours: config[theirs] for theirs, ours in KEYS.items() if theirs in config}
    kwargs["activation"] = HF_ACTIVATIONS[activation]
    return kwargs


# config key -> (HF tensor name without `bert.`, axis) whose length it sets.
_SIZES = {
    "vocab_size": ("embeddings.word_embeddings.weight", 0),
    "hidden_size": ("embeddings.word_embeddings.weight", 1),
    "max_position_embeddings": ("embeddings.position_embeddings.weight", 0),
    "type_vocab_size": ("embeddings.token_type_embeddings.weight", 0),
    "intermediate_size": ("encoder.layer.0.intermediate.dense.weight", 0),
}


def check_sizes(config_json, shapes, config_file, weights, display_name=str, prefix="bert",
                config_from_hf=config_from_hf):
    """Refuses a config whose sizes the weights do not have, before a model is built from it.

    `shapes`: {HF name: shape} of the weights (from file headers: no tensor data needed), so a
    config asking for a huge model over small files fails here instead of allocating it. `prefix`
    and `config_from_hf` are the family's (the RoBERTa family has BERT's weight names).
    """
    config_from_hf(config_json, config_file)
    shapes = {name.removeprefix(f"{prefix}."): tuple(shape) for name, shape in shapes.items()}
    problems = {}  # ordered, without repeats
    for key, (name, axis) in _SIZES.items():
        if key not in config_json:  # the encoder's default, a small size
            continue
        shape, shown = shapes.get(name), display_name(f"{prefix}.{name}")
        if shape is None or len(shape) != 2:
            problems[f"{shown} is missing" if shape is None else f"{shown} has shape {shape}, not 2-D"] = None
        elif config_json[key] != shape[axis]:
            problems[f"{key}={config_json[key]} but {shown} says {shape[axis]}"] = None
    layers = {int(m.group(1)) for name in shapes if (m := re.match(r"encoder\.layer\.(\d+)\.", name))}
    if config_json["num_hidden_layers"] != len(layers):
        problems[f"num_hidden_layers={config_json['num_hidden_layers']} but the weights hold {len(layers)} "
                 "layers"] = None
    if problems:
        raise CheckpointMismatchError(f"{config_file}: does not match {weights}: " + "; ".join(problems) + ".")


def hf_activation(activation):
    """The checkpoint name (`hidden_act`) of a Keras activation name."""
    return {"gelu": "gelu", "gelu_approximate": "gelu_new"}.get(activation, activation)


def config_to_hf(encoder, architecture):
    """An HF/Google-style BERT config dict for `encoder`."""
    config = {"architectures": [architecture], "model_type": "bert"}
    for theirs, ours in KEYS.items():
        config[theirs] = getattr(encoder, ours)
    config.update(
        hidden_act=hf_activation(encoder.activation),
        attention_probs_dropout_prob=encoder.dropout,
        initializer_range=0.02,
        pad_token_id=0,
        position_embedding_type="absolute",
    )
    return config
