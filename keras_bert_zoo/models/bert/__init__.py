"""The BERT family: its backbone (`BertEncoder`) and what maps it to Hugging Face and Google checkpoints.

`backbone` holds the Keras model; `hf_config` converts config.json / bert_config.json <-> `BertEncoder`
arguments; `checkpoint_names` maps HF weight names and classes to Keras variables and task models;
`google_names` maps google-research/bert variable names to HF ones. `keras_bert_zoo.models.families`
registers them as the family "bert".
"""

from keras_bert_zoo.models.bert.backbone import BertEncoder, bert_initializer

__all__ = ["BertEncoder", "bert_initializer"]
