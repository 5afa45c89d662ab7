"""Models: one folder per family's backbone (`bert/`: `BertEncoder`), and the task heads over a backbone
(family-agnostic). `family` says what a family is, `families` registers them by config.json's `model_type`:
a new family is one folder here and one entry there."""

from keras_bert_zoo.models.classifier import BertClassifier
from keras_bert_zoo.models.multiple_choice import BertMultipleChoice
from keras_bert_zoo.models.pretrainer import BertPretrainer
from keras_bert_zoo.models.span_qa import BertSpanQA
from keras_bert_zoo.models.task import BertTask
from keras_bert_zoo.models.token_classifier import BertTokenClassifier
