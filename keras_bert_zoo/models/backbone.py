"""Backbone: what every family's encoder shares beyond its network: its config, and the heads it takes.

A backbone (`BertEncoder`, `RobertaEncoder`, `DistilBertEncoder`, ...) is a functional `keras.Model` with a
dict of named int inputs and the outputs `sequence_output` (and `pooled_output` where the family has a
pooler). Subclasses list their constructor arguments in `config_keys` (each kept as an attribute of the
same name) and name the heads Hugging Face puts on them: `default_classifier_head`,
`default_multiple_choice_head`.

Example:
>>> import keras_bert_zoo as kbz
>>> encoder = kbz.BertEncoder(vocabulary_size=100, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16)
>>> type(encoder).from_config(encoder.get_config()).hidden_dim
8
"""

import keras


class Backbone(keras.Model):
    """The config round trip every family's backbone shares: its `config_keys`, then name, trainable, dtype."""

    config_keys = ()
    default_classifier_head = "pooled"
    default_multiple_choice_head = "pooled"

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            **{key: getattr(self, key) for key in self.config_keys},
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
