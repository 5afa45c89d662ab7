"""Readers for the formats users have, featurizers that run in the graph, and fit-ready tf.data pipelines.

* `keras_bert_zoo.data.readers`: files -> plain Python examples (`read_glue_tsv`, `read_conll`,
  `read_squad`, `read_swag_csv`, `read_multiple_choice_jsonl`, `read_pretraining_text`).
* `keras_bert_zoo.data.features`: in-graph task features shared by training and serving
  (`ner_features`, `squad_windows`, `pack_choices`, `mask_tokens`).
* One pipeline per task, all with one signature:
  `<task>_dataset(examples, preprocessor, batch_size, *, task options, **dataset options)`
  (`classification_dataset`, `ner_dataset`, `squad_dataset`, `multiple_choice_dataset`,
  `pretraining_dataset`, `seq2seq_dataset`), yielding fit-ready `(x, y)` or `(x, y, sample_weight)`
  batches with static ranks and known cardinality. The dataset options (batching, shuffling, bucketing by length,
  caching, sharding, limits) are the fields of `DatasetOptions`; see `keras_bert_zoo.data.options`.

Shared names (`ENCODER_INPUTS`, `IGNORE_LABEL`) live in `keras_bert_zoo.names`.
"""

from keras_bert_zoo.data.classification import classification_dataset, label_vocabulary
from keras_bert_zoo.data.features import mask_tokens, ner_features, pack_choices, squad_windows
from keras_bert_zoo.data.multiple_choice import multiple_choice_dataset
from keras_bert_zoo.data.ner import ner_dataset, ner_word_ids, predictions_to_word_tags
from keras_bert_zoo.data.options import DatasetOptions, build_dataset
from keras_bert_zoo.data.pretraining import pretraining_dataset, split_for_pretrainer
from keras_bert_zoo.data.readers import (
    MultipleChoiceExamples,
    SquadExamples,
    TaggedSentences,
    TextExamples,
    ner_label_names,
    read_conll,
    read_glue_tsv,
    read_multiple_choice_jsonl,
    read_pretraining_text,
    read_squad,
    read_swag_csv,
)
from keras_bert_zoo.data.seq2seq import ParallelTexts, decode_ids, read_parallel_text, seq2seq_dataset
from keras_bert_zoo.data.squad import SquadFeatures, decode_answers, squad_dataset, squad_features
from keras_bert_zoo.names import ENCODER_INPUTS, IGNORE_LABEL
