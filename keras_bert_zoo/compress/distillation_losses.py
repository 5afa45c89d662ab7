"""Distillation losses: what a student learns from a frozen teacher's outputs, hidden states and attention.

Every function takes the teacher's and the student's tensors (the teacher's should carry no gradient) and
returns a scalar; a `padding_mask` [batch, seq] (1 for tokens, 0 for padding) keeps padding out of every
average, so a batch padded longer gives the same loss.

- `soft_target_loss`: Hinton et al.'s soft targets at temperature T, scaled by T² so that its gradients keep
  their size whatever T: T² KL(softmax(t/T) || softmax(s/T)) over the last axis (classes, labels, the
  vocabulary), averaged over examples, or over the real tokens of token-level outputs (token
  classification, MLM over a whole sequence) with a `padding_mask`. `kind="cross_entropy"` gives
  T² H(softmax(t/T), softmax(s/T)), which differs by the teacher's entropy (same gradients).
  Masked-LM distillation (DistilBERT's pretraining stage): pass the masked positions' `mask_weights` as the
  mask, so only the positions the MLM predicts (those both models saw masked the same way) count.
- `span_soft_target_loss`: the same over the positions of one span end (SQuAD start or end logits
  [batch, seq]): a distribution over the real tokens only.
- `hidden_state_loss`: MSE (TinyBERT) or 1 - cosine (DistilBERT's cosine embedding loss) between hidden
  states, averaged over real tokens; a student of another width goes through a learned `keras.layers.Dense`
  first (the `Distiller` owns one per mapped layer).
- `attention_loss`: MiniLM's attention transfer, KL(teacher row || student row) of the attention
  probabilities [batch, heads, seq, seq] of each real query token, averaged over heads and those tokens.

Example:
>>> import numpy as np
>>> teacher, student = np.array([[2.0, 0.0]]), np.array([[0.0, 2.0]])
>>> round(float(soft_target_loss(teacher, student, temperature=2.0)), 4)  # 4 * KL([.73, .27] || [.27, .73])
1.8485
>>> float(soft_target_loss(teacher, teacher))
0.0
"""

from keras import ops

# log(max(p, EPSILON)): the student's probabilities of masked keys are exactly 0 (the teacher's too, whose
# zero terms count 0: x log x -> 0), where a log would be -inf.
EPSILON = 1e-12


def _masked_mean(values, mask):
    """The mean of `values` where `mask` is 1 (all of them when `mask` is None)."""
    if mask is None:
        return ops.mean(values)
    mask = ops.cast(mask, values.dtype)
    return ops.sum(values * mask) / ops.maximum(ops.sum(mask), 1.0)


def _kl_rows(teacher_logits, student_logits, temperature, kind, axis=-1, where=None):
    """T² KL (or cross entropy) of each row's distributions along `axis`; `where` excludes entries."""
    teacher_logits = ops.cast(teacher_logits, "float32") / temperature
    student_logits = ops.cast(student_logits, "float32") / temperature
    if where is not None:  # outside the distribution: probability 0 in both
        teacher_logits = ops.where(where, teacher_logits, -1e9)
        student_logits = ops.where(where, student_logits, -1e9)
    teacher_log_p = ops.log_softmax(teacher_logits, axis=axis)
    student_log_p = ops.log_softmax(student_logits, axis=axis)
    teacher_p = ops.exp(teacher_log_p)
    if kind == "kl":
        terms = teacher_p * (teacher_log_p - student_log_p)
    elif kind == "cross_entropy":
        terms = -teacher_p * student_log_p
    else:
        raise ValueError(f'kind must be "kl" or "cross_entropy", got {kind!r}.')
    if where is not None:
        terms = ops.where(where, terms, 0.0)
    return ops.sum(terms, axis=axis) * temperature**2


def soft_target_loss(teacher_logits, student_logits, temperature=1.0, padding_mask=None, kind="kl"):
    """T² KL(softmax(teacher/T) || softmax(student/T)) over the last axis, averaged over the other axes'
    rows (examples, or tokens where `padding_mask` [batch, seq] is 1)."""
    return _masked_mean(_kl_rows(teacher_logits, student_logits, temperature, kind), padding_mask)


def span_soft_target_loss(teacher_logits, student_logits, padding_mask, temperature=1.0, kind="kl"):
    """T² KL of the distributions over the real tokens of each example's span-end logits [batch, seq],
    averaged over examples."""
    where = ops.cast(padding_mask, "bool")
    return ops.mean(_kl_rows(teacher_logits, student_logits, temperature, kind, axis=-1, where=where))


def hidden_state_loss(teacher_hidden, student_hidden, padding_mask=None, kind="mse"):
    """MSE (mean over features) or 1 - cosine between hidden states [batch, seq, hidden] of equal width,
    averaged over real tokens."""
    teacher_hidden = ops.cast(teacher_hidden, "float32")
    student_hidden = ops.cast(student_hidden, "float32")
    if kind == "mse":
        per_token = ops.mean(ops.square(student_hidden - teacher_hidden), axis=-1)
    elif kind == "cosine":
        dot = ops.sum(student_hidden * teacher_hidden, axis=-1)
        norms = ops.norm(student_hidden, axis=-1) * ops.norm(teacher_hidden, axis=-1)
        per_token = 1.0 - dot / ops.maximum(norms, EPSILON)
    else:
        raise ValueError(f'kind must be "mse" or "cosine", got {kind!r}.')
    return _masked_mean(per_token, padding_mask)


def attention_loss(teacher_probabilities, student_probabilities, padding_mask=None):
    """KL(teacher || student) of each query's attention probabilities [batch, heads, seq, seq] (over the
    keys), averaged over heads and real query tokens."""
    teacher_p = ops.cast(teacher_probabilities, "float32")
    student_p = ops.cast(student_probabilities, "float32")
    if teacher_p.shape[1] != student_p.shape[1]:
        raise ValueError(f"attention_loss compares head by head: the teacher has {teacher_p.shape[1]} heads, the "
                         f"student {student_p.shape[1]}.")
    terms = ops.where(teacher_p > 0, teacher_p * (ops.log(ops.maximum(teacher_p, EPSILON))
                                                  - ops.log(ops.maximum(student_p, EPSILON))), 0.0)
    per_query = ops.mean(ops.sum(terms, axis=-1), axis=1)  # [batch, seq]
    return _masked_mean(per_query, padding_mask)
