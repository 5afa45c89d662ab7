"""Featurizers: in-graph task features, shared by training (the `keras_bert_zoo.data` pipelines) and serving
(`keras_bert_zoo.export.serving`), so that a model sees at serving time what it saw in training.

`ner_features` (word tags on wordpieces), `squad_windows` (question + context windows with answer
positions), `pack_choices` (context/choice pairs), `mask_tokens` (BERT's masked-LM corruption).
"""

from keras_bert_zoo.data.features.masking import mask_tokens
from keras_bert_zoo.data.features.multiple_choice import pack_choices
from keras_bert_zoo.data.features.ner import ner_features
from keras_bert_zoo.data.features.span_qa import squad_windows
