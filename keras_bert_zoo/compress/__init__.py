"""Compression: distillation into smaller students (`Distiller`, `students`, `distillation_losses`).

Sits above training and below export: a compressed model is a model of the package's own classes, which
saves, loads and exports as any other.
"""

from keras_bert_zoo.compress.distillation_losses import (
    attention_loss,
    hidden_state_loss,
    soft_target_loss,
    span_soft_target_loss,
)
from keras_bert_zoo.compress.distiller import Distiller, even_layer_map
from keras_bert_zoo.compress.intermediate_outputs import with_intermediate_outputs
from keras_bert_zoo.compress.students import (
    alternate_layers,
    random_student,
    student_from_backbone,
    student_from_layers,
)
