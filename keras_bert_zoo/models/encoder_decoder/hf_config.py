"""Hugging Face `EncoderDecoderModel` config.json (a BERT `encoder` and a BERT `decoder` config inside) <->
`BertEncoderDecoder` arguments.

The decoder must have the encoder's shape (as a BERT2BERT has) and be a decoder with cross-attention.

Example:
>>> bert = {"vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
...         "intermediate_size": 64}
>>> config = {"model_type": "encoder-decoder", "encoder": {**bert, "model_type": "bert"},
...           "decoder": {**bert, "model_type": "bert", "is_decoder": True, "add_cross_attention": True}}
>>> config_from_hf(config, "config.json")["hidden_dim"]
32
>>> config_from_hf({**config, "decoder": {**config["decoder"], "hidden_size": 64}}, "config.json")
Traceback (most recent call last):
...
keras_bert_zoo.errors.CheckpointError: config.json: the decoder's hidden_size is 64, the encoder's 32; ...
"""

from keras_bert_zoo.errors import CheckpointError
from keras_bert_zoo.models.bert import hf_config as bert_config
from keras_bert_zoo.models.encoder_decoder.checkpoint_names import ARCHITECTURE, DECODER, ENCODER

MODEL_TYPE = "encoder-decoder"
# BERT config keys the decoder must share with the encoder (ours builds it in the encoder's shape).
_SAME = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
         "max_position_embeddings", "type_vocab_size", "hidden_act", "layer_norm_eps")


def _part(config, part, path):
    value = config.get(part)
    if not isinstance(value, dict):
        raise CheckpointError(f"{path}: has no {part!r} config; it is not an EncoderDecoderModel config.")
    if value.get("model_type", "bert") != "bert":
        raise CheckpointError(f"{path}: the {part} is a {value['model_type']!r} model; this package loads "
                              "EncoderDecoderModel folders of a BERT encoder and a BERT decoder.")
    return value


def config_from_hf(config, path):
    """The encoder's `BertEncoder` kwargs of an EncoderDecoderModel config.json; CheckpointError naming what is
    wrong (not BERT, not a decoder with cross-attention, a decoder of another shape than the encoder)."""
    encoder, decoder = _part(config, "encoder", path), _part(config, "decoder", path)
    kwargs = bert_config.config_from_hf(encoder, f"{path} (encoder)")
    bert_config.config_from_hf(decoder, f"{path} (decoder)")
    for key in ("is_decoder", "add_cross_attention"):
        if not decoder.get(key):
            raise CheckpointError(f"{path}: the decoder has {key}={decoder.get(key)!r}; a BERT2BERT decoder has "
                                  "is_decoder and add_cross_attention true.")
    defaults = {"max_position_embeddings": 512, "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12}
    for key in _SAME:
        ours, theirs = encoder.get(key, defaults.get(key)), decoder.get(key, defaults.get(key))
        if ours != theirs:
            raise CheckpointError(f"{path}: the decoder's {key} is {theirs}, the encoder's {ours}; this package's "
                                  "BertEncoderDecoder has a decoder of the encoder's shape.")
    return kwargs


def check_sizes(config_json, shapes, config_file, weights, display_name=str):
    """Refuses a config whose encoder or decoder sizes the weights (their shapes from file headers) lack."""
    for part, prefix in (("encoder", ENCODER), ("decoder", DECODER)):
        bert_config.check_sizes(config_json[part], shapes, f"{config_file} ({part})", weights, display_name,
                                prefix=prefix)


def config_to_hf(encoder, share_encoder_decoder=False, decoder_start_token_id=None, pad_token_id=None):
    """The config.json of an EncoderDecoderModel with `encoder`'s shape on both sides."""
    bert = bert_config.config_to_hf(encoder, "BertModel")
    del bert["architectures"]
    decoder = {**bert, "is_decoder": True, "add_cross_attention": True}
    return {
        "architectures": [ARCHITECTURE],
        "model_type": MODEL_TYPE,
        "is_encoder_decoder": True,
        "tie_encoder_decoder": share_encoder_decoder,
        "decoder_start_token_id": decoder_start_token_id,
        "pad_token_id": pad_token_id,
        "vocab_size": encoder.vocabulary_size,  # read by this package's checks; transformers keeps it as is
        "encoder": bert,
        "decoder": decoder,
    }
