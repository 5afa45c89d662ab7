"""The ELECTRA family: its backbone (`ElectraEncoder`, discriminator and generator alike), the replaced-token
detection head (`ElectraDiscriminator`), the joint generator + discriminator pretraining model
(`ElectraPretrainer`) and what maps them to Hugging Face checkpoints.

`backbone` holds the Keras encoder; `hf_config` converts config.json <-> `ElectraEncoder` arguments;
`checkpoint_names` maps HF weight names and classes to Keras variables and task models.
`keras_bert_zoo.models.families` registers them as the family "electra".
"""

from keras_bert_zoo.models.electra.backbone import ElectraEncoder

__all__ = ["ElectraEncoder"]
