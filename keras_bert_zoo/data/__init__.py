"""Readers for the formats users have, and tf.data pipelines that tokenize in the graph."""

from keras_bert_zoo.data.classification import classification_dataset, label_vocabulary
from keras_bert_zoo.data.glue import TextExamples, read_glue_tsv
