"""BERT config files (HF config.json, Google bert_config.json) <-> BertEncoder arguments."""

import json

from keras_bert_zoo.layers import HF_ACTIVATIONS

_KEYS = {  # checkpoint key -> BertEncoder argument
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


def read_config(path):
    """BertEncoder kwargs from a config.json / bert_config.json, with a named error if unusable."""
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    missing = [key for key in _REQUIRED if key not in config]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)}; it is not a BERT config.")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(
            f"{path}: position_embedding_type={config['position_embedding_type']!r} is not supported "
            "(only BERT's absolute position embeddings are)."
        )
    activation = config.get("hidden_act", "gelu")
    if activation not in HF_ACTIVATIONS:
        raise ValueError(f"{path}: hidden_act={activation!r} is not one of {sorted(HF_ACTIVATIONS)}.")
    kwargs = {ours: config[theirs] for theirs, ours in _KEYS.items() if theirs in config}
    kwargs["activation"] = HF_ACTIVATIONS[activation]
    return kwargs


def encoder_config_json(encoder, architecture):
    """An HF/Google-style BERT config dict for `encoder`."""
    activation = {"gelu": "gelu", "gelu_approximate": "gelu_new"}.get(encoder.activation, encoder.activation)
    config = {"architectures": [architecture], "model_type": "bert"}
    for theirs, ours in _KEYS.items():
        config[theirs] = getattr(encoder, ours)
    config.update(
        hidden_act=activation,
        attention_probs_dropout_prob=encoder.dropout,
        initializer_range=0.02,
        pad_token_id=0,
        position_embedding_type="absolute",
    )
    return config
