"""ALBERT's Hugging Face config.json <-> AlbertEncoder arguments.

The keys are BERT's (`keras_bert_zoo.models.bert.hf_config` checks them) plus the embeddings' width
(`embedding_size`) and the sharing of blocks (`num_hidden_groups` groups of `inner_group_num` blocks).
Keys a config leaves out take transformers' `AlbertConfig` defaults where they differ from BERT's
(`hidden_act` "gelu_new", dropout 0).

>>> config_from_hf({"vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 4, "num_attention_heads": 4,
...                 "intermediate_size": 37, "embedding_size": 16, "num_hidden_groups": 2}, "config.json")["num_groups"]
2
"""

import re

from keras_bert_zoo.errors import CheckpointError, CheckpointMismatchError
from keras_bert_zoo.models.bert import hf_config as bert_config

PREFIX = "albert"
KEYS = {  # config.json key -> AlbertEncoder argument, beyond BERT's
    "embedding_size": "embedding_dim",
    "num_hidden_groups": "num_groups",
    "inner_group_num": "inner_group_num",
}
GROUP_LAYER = re.compile(r"encoder\.albert_layer_groups\.(\d+)\.albert_layers\.(\d+)\.")


def config_from_hf(config, path):
    """AlbertEncoder kwargs from the JSON of a config.json (`path`, named in errors); CheckpointError naming
    the file and the key that is wrong."""
    kwargs = bert_config.config_from_hf({"hidden_act": "gelu_new", **config}, path, family="ALBERT")
    for key in KEYS:
        if key in config and (type(config[key]) is not int or config[key] < 1):
            raise CheckpointError(f"{path}: {key}={config[key]!r} is not a positive integer.")
    groups, layers = config.get("num_hidden_groups", 1), config["num_hidden_layers"]
    if groups > layers:
        raise CheckpointError(f"{path}: num_hidden_groups={groups} is more than num_hidden_layers={layers}; "
                              "some groups would never run.")
    kwargs.update({ours: config[theirs] for theirs, ours in KEYS.items() if theirs in config})
    return kwargs


# config key -> (HF tensor name without `albert.`, axis) whose length it sets.
_SIZES = {
    "vocab_size": ("embeddings.word_embeddings.weight", 0),
    "embedding_size": ("embeddings.word_embeddings.weight", 1),
    "max_position_embeddings": ("embeddings.position_embeddings.weight", 0),
    "type_vocab_size": ("embeddings.token_type_embeddings.weight", 0),
    "hidden_size": ("encoder.embedding_hidden_mapping_in.weight", 0),
    "intermediate_size": ("encoder.albert_layer_groups.0.albert_layers.0.ffn.weight", 0),
}


def check_sizes(config_json, shapes, config_file, weights, display_name=str):
    """Refuses a config whose sizes the weights do not have, before a model is built from it.

    `shapes`: {HF name: shape} of the weights (from file headers), so a config asking for a huge model
    over small files fails here instead of allocating it. The depth (`num_hidden_layers`) is not in the
    weights' shapes: shared blocks serve every depth.
    """
    config_from_hf(config_json, config_file)
    shapes = {name.removeprefix(f"{PREFIX}."): tuple(shape) for name, shape in shapes.items()}
    problems = {}  # ordered, without repeats
    for key, (name, axis) in _SIZES.items():
        if key not in config_json:  # the encoder's default, a small size
            continue
        shape, shown = shapes.get(name), display_name(f"{PREFIX}.{name}")
        if shape is None or len(shape) != 2:
            problems[f"{shown} is missing" if shape is None else f"{shown} has shape {shape}, not 2-D"] = None
        elif config_json[key] != shape[axis]:
            problems[f"{key}={config_json[key]} but {shown} says {shape[axis]}"] = None
    blocks = {(int(m.group(1)), int(m.group(2))) for name in shapes if (m := GROUP_LAYER.match(name))}
    counts = {"num_hidden_groups": len({group for group, _ in blocks}),
              "inner_group_num": len({inner for group, inner in blocks if group == 0})}
    for key, count in counts.items():
        if config_json.get(key, 1) != count:
            problems[f"{key}={config_json.get(key, 1)} but the weights hold {count}"] = None
    if problems:
        raise CheckpointMismatchError(f"{config_file}: does not match {weights}: " + "; ".join(problems) + ".")


def config_to_hf(encoder, architecture):
    """A transformers `AlbertConfig` dict for `encoder`, holding `architecture`."""
    config = {"architectures": [architecture], "model_type": "albert"}
    for theirs, ours in {**bert_config.KEYS, **KEYS}.items():
        config[theirs] = getattr(encoder, ours)
    config.update(
        hidden_act=bert_config.hf_activation(encoder.activation),
        attention_probs_dropout_prob=encoder.dropout,
        initializer_range=0.02,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
        position_embedding_type="absolute",
    )
    return config
