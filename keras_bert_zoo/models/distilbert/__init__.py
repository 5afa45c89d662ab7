"""The DistilBERT family: its backbone (`DistilBertEncoder`) and what maps it to Hugging Face checkpoints.

`backbone` holds the Keras model; `hf_config` converts config.json <-> `DistilBertEncoder` arguments;
`checkpoint_names` maps HF weight names and classes to Keras variables and task models.
`keras_bert_zoo.models.families` registers them as the family "distilbert".
"""

from keras_bert_zoo.models.distilbert.backbone import DistilBertEncoder

__all__ = ["DistilBertEncoder"]
