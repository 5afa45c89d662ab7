"""Model compression: distillation into smaller students, structured pruning and quantization.

Sits above training and below export: a compressed model is a model of the package's own classes, which
saves, loads and exports as any other.

- Distillation: `Distiller` trains a student against a frozen teacher with the `distillation_losses`; students
  come from a teacher's layers (`student_from_layers`, `alternate_layers`), a smaller backbone or random weights.
- Pruning: `prune` slices an encoder of BERT, RoBERTa/XLM-R, ELECTRA or DistilBERT (or a task model over one)
  into a smaller model of the same class; `gate_importance` ranks heads and neurons by the gradient of a gate
  (Michel et al. 2019).
- Quantization: `quantize_int8` (Keras' int8 weights) and `FakeQuantWeights` (quantization-aware fine-tuning).
"""

from keras_bert_zoo.compress.distillation_losses import (
    attention_loss,
    hidden_state_loss,
    soft_target_loss,
    span_soft_target_loss,
)
from keras_bert_zoo.compress.distiller import Distiller, even_layer_map
from keras_bert_zoo.compress.head_importance import gate_importance
from keras_bert_zoo.compress.intermediate_outputs import with_intermediate_outputs
from keras_bert_zoo.compress.pruning import prune
from keras_bert_zoo.compress.quantization import FakeQuantWeights, quantize_int8
from keras_bert_zoo.compress.students import (
    alternate_layers,
    random_student,
    student_from_backbone,
    student_from_layers,
)
