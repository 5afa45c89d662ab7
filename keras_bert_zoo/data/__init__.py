"""Readers for the formats users have, and tf.data pipelines that tokenize in the graph.

Every pipeline takes the same options (batching, shuffling, bucketing by length, caching,
sharding, limits): the fields of `DatasetOptions`, see `keras_bert_zoo.data.options`.
"""

from keras_bert_zoo.data.classification import classification_dataset, label_vocabulary
from keras_bert_zoo.data.conll import (
    IGNORE_LABEL,
    TaggedSentences,
    ner_dataset,
    ner_features,
    ner_label_names,
    ner_word_ids,
    predictions_to_word_tags,
    read_conll,
)
from keras_bert_zoo.data.glue import TextExamples, read_glue_tsv
from keras_bert_zoo.data.multiple_choice import (
    MultipleChoiceExamples,
    multiple_choice_dataset,
    pack_choices,
    read_multiple_choice_jsonl,
    read_swag_csv,
)
from keras_bert_zoo.data.options import DatasetOptions, build_dataset
from keras_bert_zoo.data.pretraining import (
    mask_tokens,
    pretraining_dataset,
    read_pretraining_text,
    split_for_pretrainer,
)
from keras_bert_zoo.data.squad import (
    SquadExamples,
    SquadFeatures,
    decode_answers,
    read_squad,
    squad_dataset,
    squad_features,
    squad_windows,
)
