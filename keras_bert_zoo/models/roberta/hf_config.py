"""RoBERTa / XLM-RoBERTa config.json <-> RobertaEncoder arguments.

The keys are BERT's (`keras_bert_zoo.models.bert.hf_config` checks them); RoBERTa adds the padding id
its position ids start after, one token type, and a position table `pad_token_id + 1` rows longer
than the longest input. Keys a config leaves out take transformers' defaults.
"""

import functools

from keras_bert_zoo.errors import CheckpointError
from keras_bert_zoo.models.bert import hf_config as bert_config

PREFIX = "roberta"
DISPLAY = {"roberta": "RoBERTa", "xlm-roberta": "XLM-RoBERTa"}


def config_from_hf(config, path, model_type="roberta"):
    """RobertaEncoder kwargs from the JSON of a config.json (`path`, named in errors); CheckpointError naming
    what is wrong."""
    family = DISPLAY[model_type]
    kwargs = bert_config.config_from_hf(config, path, family=family)
    if config.get("type_vocab_size", 2) != 1:  # 2: transformers' default
        raise CheckpointError(f"{path}: type_vocab_size={config.get('type_vocab_size', 2)!r}; a {family} "
                              "checkpoint has one token type (type_vocab_size=1).")
    pad_id = config.get("pad_token_id", 1)
    if type(pad_id) is not int or pad_id < 0:
        raise CheckpointError(f"{path}: pad_token_id={pad_id!r} is not a non-negative integer.")
    positions = config.get("max_position_embeddings", 512)
    if positions < pad_id + 2:
        raise CheckpointError(f"{path}: max_position_embeddings={positions} leaves no position after "
                              f"pad_token_id={pad_id}; {family} numbers positions from pad_token_id + 1.")
    del kwargs["num_segments"]
    kwargs.update(max_sequence_length=positions - pad_id - 1, pad_id=pad_id,
                  layer_norm_epsilon=config.get("layer_norm_eps", 1e-12))
    return kwargs


def check_sizes(config_json, shapes, config_file, weights, display_name=str, model_type="roberta"):
    """BERT's check (`bert_config.check_sizes`) on RoBERTa's names."""
    bert_config.check_sizes(config_json, shapes, config_file, weights, display_name, prefix=PREFIX,
                            config_from_hf=functools.partial(config_from_hf, model_type=model_type))


def config_to_hf(encoder, architecture, model_type="roberta"):
    """A transformers config dict (`RobertaConfig` / `XLMRobertaConfig`) for `encoder`."""
    config = {"architectures": [architecture], "model_type": model_type}
    for theirs, ours in bert_config.KEYS.items():
        if ours not in ("max_sequence_length", "num_segments"):  # RoBERTa's own below
            config[theirs] = getattr(encoder, ours)
    config.update(
        hidden_act=bert_config.hf_activation(encoder.activation),
        attention_probs_dropout_prob=encoder.dropout,
        initializer_range=0.02,
        max_position_embeddings=encoder.max_sequence_length + encoder.pad_id + 1,
        type_vocab_size=1,
        pad_token_id=encoder.pad_id,
        bos_token_id=0,
        eos_token_id=2,
        position_embedding_type="absolute",
    )
    return config
