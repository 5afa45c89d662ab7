"""Backbone: what every family's encoder shares beyond its network: its config, and the heads it takes.

A backbone (`BertEncoder`, `RobertaEncoder`, `DistilBertEncoder`, ...) is a functional `keras.Model` with a
dict of named int inputs and the outputs `sequence_output` (and `pooled_output` where the family has a
pooler). Subclasses list their constructor arguments in `config_keys` (each kept as an attribute of the
same name) and name the heads Hugging Face puts on them: `default_classifier_head`,
`default_multiple_choice_head`. A model quantized with Keras' `model.quantize(mode)` records the mode in its
config, so its `.keras` file loads back quantized (`quantization_of`, `quantize_the_rest`).

Example:
>>> import keras_bert_zoo as kbz
>>> encoder = kbz.BertEncoder(vocabulary_size=100, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16)
>>> type(encoder).from_config(encoder.get_config()).hidden_dim
8
"""

import warnings

import keras


def quantization_of(model):
    """The mode of `model`'s quantized layers ("int8", ...), or None when none is quantized."""
    modes = {layer.quantization_mode for layer in model._flatten_layers()
             if getattr(layer, "quantization_mode", None) is not None}
    if len(modes) > 1:
        raise ValueError(f"{model.name} mixes quantization modes {sorted(modes)}; a config records one.")
    return modes.pop() if modes else None


def quantize_the_rest(model, mode):
    """`model.quantize(mode)` on the layers not quantized yet (a task's head over a quantized encoder)."""
    with warnings.catch_warnings():  # one per layer without kernels (LayerNorm, Dropout, ...): expected
        warnings.filterwarnings("ignore", message=".*does not have a `quantize` method")
        model.quantize(mode, filters=lambda layer: getattr(layer, "quantization_mode", None) is None)
    return model


class Backbone(keras.Model):
    """The config round trip every family's backbone shares: its `config_keys`, then name, trainable, dtype."""

    config_keys = ()
    default_classifier_head = "pooled"
    default_multiple_choice_head = "pooled"

    def get_config(self):
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            **{key: getattr(self, key) for key in self.config_keys},
        }
        mode = quantization_of(self)
        return config if mode is None else {**config, "quantization": mode}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        mode = config.pop("quantization", None)
        model = cls(**config)
        return model if mode is None else quantize_the_rest(model, mode)
