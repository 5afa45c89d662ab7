"""The ALBERT family: its backbone (`AlbertEncoder`) and what maps it to Hugging Face checkpoints.

`backbone` holds the Keras model; `hf_config` converts config.json <-> `AlbertEncoder` arguments;
`checkpoint_names` maps HF weight names and classes to Keras variables and task models.
`keras_bert_zoo.models.families` registers them as the family "albert".
"""

from keras_bert_zoo.models.albert.backbone import AlbertEncoder

__all__ = ["AlbertEncoder"]
