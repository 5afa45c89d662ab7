"""DistilBERT's Hugging Face config.json <-> DistilBertEncoder arguments.

`sinusoidal_pos_embds` only says how Hugging Face initializes the position table; the table itself is
in the weights, so it loads as the encoder's position embeddings whatever the flag says (and is saved
back with the flag off: the positions are ordinary weights then, as in transformers).

>>> config_from_hf({"vocab_size": 99, "dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 37}, "config.json")
{'vocabulary_size': 99, 'num_layers': 2, 'num_heads': 4, 'hidden_dim': 32, 'intermediate_dim': 37, 'activation': 'gelu'}
"""

import re

from keras_bert_zoo.errors import CheckpointError, CheckpointMismatchError
from keras_bert_zoo.layers import HF_ACTIVATIONS

_KEYS = {  # config.json key -> DistilBertEncoder argument
    "vocab_size": "vocabulary_size",
    "n_layers": "num_layers",
    "n_heads": "num_heads",
    "dim": "hidden_dim",
    "hidden_dim": "intermediate_dim",
    "max_position_embeddings": "max_sequence_length",
    "dropout": "dropout",
    "attention_dropout": "attention_dropout",
}
_REQUIRED = ("vocab_size", "n_layers", "n_heads", "dim", "hidden_dim")
_POSITIVE_INTEGERS = (*_REQUIRED, "max_position_embeddings")
_RATES = ("dropout", "attention_dropout", "seq_classif_dropout", "qa_dropout")
LAYER_NORM_EPSILON = 1e-12  # fixed in transformers' DistilBERT; config.json has no key for it


def _rate(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1


def config_from_hf(config, path):
    """DistilBertEncoder kwargs from the JSON of a config.json (`path`, named in errors); CheckpointError
    naming the file and the key that is wrong."""
    missing = [key for key in _REQUIRED if key not in config]
    if missing:
        raise CheckpointError(f"{path}: lacks {', '.join(missing)}; it is not a DistilBERT config.")
    for key in _POSITIVE_INTEGERS:
        if key in config and (type(config[key]) is not int or config[key] < 1):
            raise CheckpointError(f"{path}: {key}={config[key]!r} is not a positive integer.")
    if config["dim"] % config["n_heads"]:
        raise CheckpointError(f"{path}: dim={config['dim']} is not divisible by n_heads={config['n_heads']}.")
    for key in _RATES:
        if key in config and not _rate(config[key]):
            raise CheckpointError(f"{path}: {key}={config[key]!r} is not a number in [0, 1).")
    if not isinstance(config.get("sinusoidal_pos_embds", False), bool):
        raise CheckpointError(f"{path}: sinusoidal_pos_embds={config['sinusoidal_pos_embds']!r} is not true or false.")
    activation = config.get("activation", "gelu")
    if not isinstance(activation, str) or activation not in HF_ACTIVATIONS:
        raise CheckpointError(f"{path}: activation={activation!r} is not one of {sorted(HF_ACTIVATIONS)}.")
    kwargs = {ours: config[theirs] for theirs, ours in _KEYS.items() if theirs in config}
    kwargs["activation"] = HF_ACTIVATIONS[activation]
    return kwargs


# config key -> (HF tensor name without `distilbert.`, axis) whose length it sets.
_SIZES = {
    "vocab_size": ("embeddings.word_embeddings.weight", 0),
    "dim": ("embeddings.word_embeddings.weight", 1),
    "max_position_embeddings": ("embeddings.position_embeddings.weight", 0),
    "hidden_dim": ("transformer.layer.0.ffn.lin1.weight", 0),
}


def check_sizes(config_json, shapes, config_file, weights, display_name=str):
    """Refuses a config whose sizes the weights do not have, before a model is built from it.

    `shapes`: {HF name: shape} of the weights (from file headers), so a config asking for a huge model
    over small files fails here instead of allocating it.
    """
    kwargs = config_from_hf(config_json, config_file)
    shapes = {name.removeprefix("distilbert."): tuple(shape) for name, shape in shapes.items()}
    problems = {}  # ordered, without repeats
    for key, (name, axis) in _SIZES.items():
        if _KEYS[key] not in kwargs:  # the encoder's default, a small size
            continue
        shape, shown = shapes.get(name), display_name(f"distilbert.{name}")
        if shape is None or len(shape) != 2:
            problems[f"{shown} is missing" if shape is None else f"{shown} has shape {shape}, not 2-D"] = None
        elif kwargs[_KEYS[key]] != shape[axis]:
            problems[f"{key}={kwargs[_KEYS[key]]} but {shown} says {shape[axis]}"] = None
    layers = {int(m.group(1)) for name in shapes if (m := re.match(r"transformer\.layer\.(\d+)\.", name))}
    if kwargs["num_layers"] != len(layers):
        problems[f"n_layers={kwargs['num_layers']} but the weights hold {len(layers)} layers"] = None
    if problems:
        raise CheckpointMismatchError(f"{config_file}: does not match {weights}: " + "; ".join(problems) + ".")


def config_to_hf(encoder, architecture):
    """A Hugging Face DistilBERT config dict for `encoder`, holding `architecture`."""
    if encoder.layer_norm_epsilon != LAYER_NORM_EPSILON:
        raise ValueError(f"transformers' DistilBERT has LayerNorm epsilon {LAYER_NORM_EPSILON}, this encoder "
                         f"{encoder.layer_norm_epsilon}: save it with model.save('model.keras').")
    activation = {"gelu": "gelu", "gelu_approximate": "gelu_new"}.get(encoder.activation, encoder.activation)
    config = {"architectures": [architecture], "model_type": "distilbert"}
    for theirs, ours in _KEYS.items():
        config[theirs] = getattr(encoder, ours)
    config.update(
        activation=activation,
        initializer_range=0.02,
        pad_token_id=0,
        sinusoidal_pos_embds=False,
    )
    return config
