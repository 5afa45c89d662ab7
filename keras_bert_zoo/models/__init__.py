"""Models: one folder per family's backbone (`bert/`: `BertEncoder`; `roberta/`: `RobertaEncoder`,
`XLMRobertaEncoder`; `distilbert/`, `albert/`, `electra/`, `deberta/`), `encoder_decoder/` (BERT2BERT), and
the task heads over a backbone of any family (`task.encoder_inputs` names their inputs after the backbone's;
a classifier's and a multiple-choice model's `head` is Hugging Face's for the family). `family` says what a
family is, `families` registers them by config.json's `model_type`: a new family is one folder here and one
entry there."""

from keras_bert_zoo.models.classifier import BertClassifier
from keras_bert_zoo.models.extractive_summarizer import BertExtractiveSummarizer
from keras_bert_zoo.models.multiple_choice import BertMultipleChoice
from keras_bert_zoo.models.pretrainer import BertPretrainer
from keras_bert_zoo.models.span_qa import BertSpanQA
from keras_bert_zoo.models.task import BertTask
from keras_bert_zoo.models.token_classifier import BertTokenClassifier
