"""Task models: heads over a BertEncoder."""

from keras_bert_zoo.models.classifier import BertClassifier
from keras_bert_zoo.models.multiple_choice import BertMultipleChoice
from keras_bert_zoo.models.pretrainer import BertPretrainer
from keras_bert_zoo.models.span_qa import BertSpanQA
from keras_bert_zoo.models.task import BertTask
from keras_bert_zoo.models.token_classifier import BertTokenClassifier
