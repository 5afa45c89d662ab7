"""Distiller: trains a student task model against a frozen teacher with `fit`.

The loss of a batch is

    alpha * hard + (1 - alpha) * soft + hidden_weight * hidden + attention_weight * attention

- hard: the loss given to `compile` on the labels (the task's own, e.g. SparseCategoricalCrossentropy;
  none needed with alpha=0), computed on the student's outputs; `compile`'s metrics measure the student too.
- soft: `distillation_losses.soft_target_loss` of the teacher's and student's outputs at `temperature`,
  as the head's outputs call for: per example (BertClassifier, BertMultipleChoice, NSP), per real token
  (BertTokenClassifier), per masked position (BertPretrainer's MLM, weighted by the batch's
  `sample_weight["mlm_logits"]`, its `mask_weights`), over the real tokens (BertSpanQA's start and end).
- hidden: `hidden_state_loss` ("mse" or "cosine") between the embeddings' outputs and between each student
  block and its teacher block (`layer_map`, default: evenly spread, the last on the last), through one
  learned dense projection when the widths differ (TinyBERT's W_h; trained here, not part of the student).
- attention: `attention_loss` (MiniLM) between the attention probabilities of the same blocks (equal head
  counts).

The hidden and attention terms read both models through `with_intermediate_outputs`, built only when
their weight is not 0. `fit` trains the student (and the projection); `distiller.student` is the model
to save and export. `predict` returns the student's outputs.

Written as its own model: `keras.distillation.Distiller`'s losses see only (teacher output, student output):
no padding mask or MLM weights, no layers inside a nested backbone, no attention probabilities, no
trainable projection.

Example:
>>> import numpy as np, keras, keras_bert_zoo as kbz
>>> from keras_bert_zoo.compress import Distiller, student_from_layers
>>> teacher = kbz.BertClassifier(kbz.BertEncoder(100, 4, 2, 32, 64), num_classes=2)
>>> distiller = Distiller(teacher, student_from_layers(teacher, [0, 2]), alpha=0.5, temperature=2.0,
...                       hidden_weight=1.0, attention_weight=1.0)
>>> distiller.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
>>> ids = np.ones((4, 8), "int32")
>>> x = {"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids}
>>> history = distiller.fit(x, np.array([0, 1, 0, 1]), epochs=1, verbose=0)
>>> sorted(history.history)
['attention_loss', 'hard_loss', 'hidden_loss', 'loss', 'soft_loss']
"""

import keras
from keras import ops

from keras_bert_zoo.compress import distillation_losses as losses
from keras_bert_zoo.compress.intermediate_outputs import backbone_of, with_intermediate_outputs
from keras_bert_zoo.models import BertPretrainer, BertSpanQA, BertTokenClassifier
from keras_bert_zoo.names import PADDING_MASK


def even_layer_map(num_teacher_layers, num_student_layers):
    """Teacher block of each student block, evenly spread with the last on the last (TinyBERT's map).

    >>> even_layer_map(6, 3), even_layer_map(6, 2)
    ([1, 3, 5], [2, 5])
    """
    return [(i + 1) * num_teacher_layers // num_student_layers - 1 for i in range(num_student_layers)]


class Distiller(keras.Model):
    """A student trained against a frozen teacher (see the module docstring).

    Args:
        teacher, student: task models of one head (or backbones) over the same inputs.
        alpha: weight of the hard-label loss; the soft loss gets 1 - alpha.
        temperature: the soft targets' temperature T (the soft loss is scaled by T²).
        soft_loss: "kl" or "cross_entropy".
        hidden_weight, hidden_loss: weight of the hidden-state term and its kind, "mse" or "cosine".
        attention_weight: weight of the attention-probability term.
        layer_map: for each student block, the teacher block it learns from (default `even_layer_map`).
    """

    def __init__(self, teacher, student, alpha=0.5, temperature=2.0, soft_loss="kl", hidden_weight=0.0,
                 hidden_loss="mse", attention_weight=0.0, layer_map=None, **kwargs):
        super().__init__(name=kwargs.pop("name", "distiller"), **kwargs)
        if type(teacher) is not type(student):
            raise TypeError(f"The teacher is a {type(teacher).__name__}, the student a {type(student).__name__}: "
                            "distillation needs the same head on both.")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha={alpha} must be between 0 and 1.")
        if temperature <= 0:
            raise ValueError(f"temperature={temperature} must be positive.")
        self.teacher, self.student = teacher, student
        self.teacher.trainable = False
        self.alpha, self.temperature, self.soft_loss = alpha, temperature, soft_loss
        self.hidden_weight, self.hidden_loss, self.attention_weight = hidden_weight, hidden_loss, attention_weight
        teacher_backbone, student_backbone = backbone_of(teacher), backbone_of(student)
        self.layer_map = list(layer_map or even_layer_map(teacher_backbone.num_layers, student_backbone.num_layers))
        if len(self.layer_map) != student_backbone.num_layers or not all(
                0 <= i < teacher_backbone.num_layers for i in self.layer_map):
            raise ValueError(f"layer_map {self.layer_map} must name one teacher block (0 to "
                             f"{teacher_backbone.num_layers - 1}) for each of the student's "
                             f"{student_backbone.num_layers} blocks.")
        if attention_weight and teacher_backbone.num_heads != student_backbone.num_heads:
            raise ValueError(f"attention_weight needs equal head counts: the teacher has {teacher_backbone.num_heads}, "
                             f"the student {student_backbone.num_heads}.")
        self.intermediate = bool(hidden_weight or attention_weight)
        self.teacher_view = with_intermediate_outputs(teacher) if self.intermediate else None
        self.student_view = with_intermediate_outputs(student) if self.intermediate else None
        self.projection = None
        if hidden_weight and teacher_backbone.hidden_dim != student_backbone.hidden_dim:
            self.projection = keras.layers.Dense(teacher_backbone.hidden_dim, name="hidden_projection")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self._terms()}

    def _terms(self):
        return ["hard_loss", "soft_loss"] + ["hidden_loss"] * bool(self.hidden_weight) + [
            "attention_loss"] * bool(self.attention_weight)

    def call(self, inputs, training=None):
        if not self.intermediate:
            return {"outputs": self.student(inputs, training=training)}
        return self.student_view(inputs, training=training)

    def predict_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self.student(x, training=False)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(x, y, y_pred["outputs"], sample_weight)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # compile's loss on the labels; alpha=0 needs none (compile(optimizer) alone: pure distillation).
        hard = super().compute_loss(x, y, y_pred["outputs"], sample_weight, training) if self.alpha else 0.0
        teacher = (self.teacher_view or self.teacher)(x, training=False)
        teacher = keras.tree.map_structure(ops.stop_gradient, teacher if self.intermediate else {"outputs": teacher})
        terms = {"hard_loss": hard, "soft_loss": self._soft(teacher["outputs"], y_pred["outputs"], x, sample_weight)}
        total = self.alpha * hard + (1.0 - self.alpha) * terms["soft_loss"]
        mask = self._token_mask(x)
        if self.hidden_weight:
            terms["hidden_loss"] = self._hidden(teacher["hidden_states"], y_pred["hidden_states"], mask)
            total = total + self.hidden_weight * terms["hidden_loss"]
        if self.attention_weight:
            pairs = zip(self.layer_map, y_pred["attention_probabilities"])
            terms["attention_loss"] = ops.mean(ops.stack([
                losses.attention_loss(teacher["attention_probabilities"][t], student, mask) for t, student in pairs]))
            total = total + self.attention_weight * terms["attention_loss"]
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        return total

    def _token_mask(self, x):
        """The padding mask as the backbone sees it ([batch * choices, seq] for multiple choice)."""
        mask = x[PADDING_MASK]
        return ops.reshape(mask, (-1, ops.shape(mask)[-1]))

    def _soft(self, teacher, student, x, sample_weight):
        def soft(t, s, mask=None):
            return losses.soft_target_loss(t, s, self.temperature, mask, self.soft_loss)

        if isinstance(self.student, BertSpanQA):
            return ops.mean(ops.stack([
                losses.span_soft_target_loss(teacher[name], student[name], x[PADDING_MASK], self.temperature,
                                             self.soft_loss) for name in ("start_logits", "end_logits")]))
        if isinstance(self.student, BertTokenClassifier):
            return soft(teacher, student, x[PADDING_MASK])
        if isinstance(self.student, BertPretrainer):
            weights = sample_weight.get("mlm_logits") if isinstance(sample_weight, dict) else None
            mask = ops.ones(ops.shape(x["mask_positions"])) if weights is None else weights
            terms = [soft(teacher["mlm_logits"], student["mlm_logits"], mask)]
            if "nsp_logits" in student:
                terms.append(soft(teacher["nsp_logits"], student["nsp_logits"]))
            return ops.mean(ops.stack(terms))
        if isinstance(student, dict):
            raise TypeError(f"{type(self.student).__name__}'s outputs {sorted(student)}: the Distiller knows "
                            "classifiers, token classifiers, span QA, multiple choice and pretrainers.")
        return soft(teacher, student)

    def _hidden(self, teacher_states, student_states, mask):
        pairs = [(0, 0)] + [(t + 1, s + 1) for s, t in enumerate(self.layer_map)]  # embeddings, then blocks
        values = []
        for t, s in pairs:
            student_state = student_states[s] if self.projection is None else self.projection(student_states[s])
            values.append(losses.hidden_state_loss(teacher_states[t], student_state, mask, self.hidden_loss))
        return ops.mean(ops.stack(values))
