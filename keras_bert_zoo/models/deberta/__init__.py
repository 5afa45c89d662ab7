"""The DeBERTa-v3 family (transformers' model_type "deberta-v2"): its backbone (`DebertaV3Encoder`) and what
maps it to Hugging Face checkpoints.

`attention` holds the disentangled self-attention, `block` the transformer layer around it, `backbone` the
Keras model; `hf_config` converts config.json <-> `DebertaV3Encoder` arguments; `checkpoint_names` maps HF
weight names and classes to Keras variables and task models. `keras_bert_zoo.models.families` registers
them as the family "deberta-v2".
"""

from keras_bert_zoo.models.deberta.backbone import DebertaV3Encoder

__all__ = ["DebertaV3Encoder"]
