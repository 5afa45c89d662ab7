"""ELECTRA's Hugging Face config.json <-> ElectraEncoder arguments.

The keys are BERT's (`keras_bert_zoo.models.bert.hf_config` checks them) plus `embedding_size`, the width
of the embeddings (transformers' default 128 when a config leaves it out). A multiple-choice head reads
`summary_*` keys; ours is the one every public ELECTRA config describes (first token, projection, GELU).

>>> config_from_hf({"vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
...                 "intermediate_size": 37, "embedding_size": 16}, "config.json")["embedding_dim"]
16
"""

import re

from keras_bert_zoo.errors import CheckpointError, CheckpointMismatchError
from keras_bert_zoo.models.bert import hf_config as bert_config

PREFIX = "electra"
EMBEDDING_SIZE = 128  # transformers' ElectraConfig default
# The multiple-choice sequence summary of every public ELECTRA config, the only one `BertMultipleChoice` holds.
SUMMARY = {"summary_type": "first", "summary_use_proj": True, "summary_activation": "gelu"}


def config_from_hf(config, path):
    """ElectraEncoder kwargs from the JSON of a config.json (`path`, named in errors); CheckpointError naming
    the file and the key that is wrong."""
    kwargs = bert_config.config_from_hf(config, path, family="ELECTRA")
    embedding_size = config.get("embedding_size", EMBEDDING_SIZE)
    if type(embedding_size) is not int or embedding_size < 1:
        raise CheckpointError(f"{path}: embedding_size={embedding_size!r} is not a positive integer.")
    for key, value in SUMMARY.items():
        if config.get(key, value) != value:
            raise CheckpointError(f"{path}: {key}={config[key]!r}; this package holds ELECTRA's multiple-choice "
                                  f"summary {SUMMARY}.")
    if config.get("summary_proj_to_labels"):
        raise CheckpointError(f"{path}: summary_proj_to_labels=true is not supported (ELECTRA's summary projects "
                              "to hidden_size).")
    if config.get("summary_first_dropout"):
        raise CheckpointError(f"{path}: summary_first_dropout={config['summary_first_dropout']!r} is not supported "
                              "(ELECTRA's summary has no dropout before its projection).")
    return {**kwargs, "embedding_dim": embedding_size}


# config key -> (HF tensor name without `electra.`, axis) whose length it sets.
_SIZES = {
    "vocab_size": ("embeddings.word_embeddings.weight", 0),
    "embedding_size": ("embeddings.word_embeddings.weight", 1),
    "hidden_size": ("encoder.layer.0.attention.self.query.weight", 0),
    "max_position_embeddings": ("embeddings.position_embeddings.weight", 0),
    "type_vocab_size": ("embeddings.token_type_embeddings.weight", 0),
    "intermediate_size": ("encoder.layer.0.intermediate.dense.weight", 0),
}


def check_sizes(config_json, shapes, config_file, weights, display_name=str):
    """Refuses a config whose sizes the weights do not have, before a model is built from it.

    `shapes`: {HF name: shape} of the weights (from file headers), so a config asking for a huge model
    over small files fails here instead of allocating it.
    """
    config_from_hf(config_json, config_file)
    expected = {"embedding_size": EMBEDDING_SIZE, **config_json}
    shapes = {name.removeprefix(f"{PREFIX}."): tuple(shape) for name, shape in shapes.items()}
    problems = {}  # ordered, without repeats
    for key, (name, axis) in _SIZES.items():
        if key not in expected:  # the encoder's default, a small size
            continue
        shape, shown = shapes.get(name), display_name(f"{PREFIX}.{name}")
        if shape is None or len(shape) != 2:
            problems[f"{shown} is missing" if shape is None else f"{shown} has shape {shape}, not 2-D"] = None
        elif expected[key] != shape[axis]:
            problems[f"{key}={expected[key]} but {shown} says {shape[axis]}"] = None
    layers = {int(m.group(1)) for name in shapes if (m := re.match(r"encoder\.layer\.(\d+)\.", name))}
    if config_json["num_hidden_layers"] != len(layers):
        problems[f"num_hidden_layers={config_json['num_hidden_layers']} but the weights hold {len(layers)} "
                 "layers"] = None
    if problems:
        raise CheckpointMismatchError(f"{config_file}: does not match {weights}: " + "; ".join(problems) + ".")


def config_to_hf(encoder, architecture):
    """A transformers `ElectraConfig` dict for `encoder`, holding `architecture`."""
    config = {"architectures": [architecture], "model_type": "electra", "embedding_size": encoder.embedding_dim}
    for theirs, ours in bert_config.KEYS.items():
        config[theirs] = getattr(encoder, ours)
    config.update(
        hidden_act=bert_config.hf_activation(encoder.activation),
        attention_probs_dropout_prob=encoder.dropout,
        initializer_range=0.02,
        pad_token_id=0,
        position_embedding_type="absolute",
        summary_last_dropout=encoder.dropout,
        **SUMMARY,
    )
    return config
