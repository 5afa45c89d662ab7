"""The RoBERTa family (RoBERTa, XLM-RoBERTa, BERTweet-shaped configs): its backbones and what maps them to
Hugging Face checkpoints.

`backbone` holds the Keras models (`RobertaEncoder`, `XLMRobertaEncoder`); `hf_config` converts
config.json <-> their arguments; `checkpoint_names` maps HF weight names and classes to Keras variables
and task models. `keras_bert_zoo.models.families` registers them as "roberta" and "xlm-roberta".
"""

from keras_bert_zoo.models.roberta.backbone import RobertaEncoder, XLMRobertaEncoder

__all__ = ["RobertaEncoder", "XLMRobertaEncoder"]
