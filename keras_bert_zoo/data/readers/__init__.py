"""Readers: the file formats users have, read into plain Python examples (no TensorFlow).

Each returns the examples one `keras_bert_zoo.data` pipeline takes: `TextExamples` (GLUE TSV) for
`classification_dataset`, `TaggedSentences` (CoNLL) for `ner_dataset`, `SquadExamples` (SQuAD JSON)
for `squad_dataset`, `MultipleChoiceExamples` (SWAG CSV, JSON lines) for `multiple_choice_dataset`,
documents (plain text) for `pretraining_dataset`.
"""

from keras_bert_zoo.data.readers.conll import TaggedSentences, ner_label_names, read_conll
from keras_bert_zoo.data.readers.glue import TextExamples, read_glue_tsv
from keras_bert_zoo.data.readers.multiple_choice import (
    MultipleChoiceExamples,
    read_multiple_choice_jsonl,
    read_swag_csv,
)
from keras_bert_zoo.data.readers.squad import SquadExamples, read_squad
from keras_bert_zoo.data.readers.text import read_pretraining_text
