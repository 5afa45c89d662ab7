"""Evaluation metrics: GLUE (post-hoc and Keras), entity-level NER scores, SQuAD EM/F1.

>>> from keras_bert_zoo.metrics import accuracy, squad_exact
>>> accuracy([1, 0], [1, 1]), squad_exact("The Cat!", ["cat"])
(0.5, 1.0)
"""

from keras_bert_zoo.metrics.entities import classification_report, entity_scores, extract_entities
from keras_bert_zoo.metrics.glue import (
    Accuracy,
    BinaryF1,
    MatthewsCorrelation,
    PearsonCorrelation,
    accuracy,
    binary_f1,
    glue_keras_metrics,
    glue_metrics,
    matthews_corrcoef,
    pearson_corrcoef,
    spearman_corrcoef,
)
from keras_bert_zoo.metrics.squad import normalize_answer, squad_exact, squad_f1, squad_scores
