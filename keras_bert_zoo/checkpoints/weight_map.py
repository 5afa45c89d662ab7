"""Tensors in and out of a Keras model, by Hugging Face parameter names.

The caller hands the names: {HF name: (Keras variable path, kind)}, from its model family
(`keras_bert_zoo.models.families`); this module knows no family. An entry knows how to reshape
between the Keras variable and the HF tensor.
"""

import dataclasses
import math

import numpy as np

from keras_bert_zoo.errors import CheckpointMismatchError


@dataclasses.dataclass(frozen=True)
class Entry:
    variable: object  # keras.Variable
    kind: str  # copy | linear | linear_split_out | linear_split_in | bias_split
    optional: bool = False  # a tensor the Hugging Face class does not have (an unused pooler)

    def hf_shape(self):
        shape = tuple(self.variable.shape)
        if self.kind == "linear":
            return (shape[1], shape[0])
        if self.kind == "linear_split_out":  # Keras [in, heads, head_dim]
            return (math.prod(shape[1:]), shape[0])
        if self.kind == "linear_split_in":  # Keras [heads, head_dim, out]
            return (shape[-1], math.prod(shape[:-1]))
        if self.kind == "bias_split":
            return (math.prod(shape),)
        return shape

    def to_keras(self, tensor):
        if self.kind.startswith("linear"):
            tensor = tensor.T
        return np.reshape(tensor, self.variable.shape)

    def from_keras(self):
        value = np.asarray(self.variable.numpy())
        if self.kind.startswith("linear"):
            in_dim = self.hf_shape()[1]
            return np.ascontiguousarray(value.reshape(in_dim, -1).T)
        return value.reshape(self.hf_shape())


def weight_table(model, names, optional=()):
    """{HF name: Entry} for `model` from `names` ({HF name: (Keras variable path, kind)}, the caller's
    family's table); names in `optional` are never required nor written. Every variable must be named."""
    variables = {v.path: v for v in model.weights}
    table = {}
    for hf_name, (path, kind) in names.items():
        table[hf_name] = Entry(variables.pop(path), kind, hf_name in optional)
    if variables:  # the table must cover the model: no variable is left at its random init
        raise AssertionError(f"variables with no checkpoint name: {sorted(variables)}")
    return table


def normalize_hf_names(state):
    """Old HF files say LayerNorm.gamma/beta; newer say weight/bias."""
    return {
        name.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias"): value
        for name, value in state.items()
    }


def assign(model, names, state, source, display_name=str, optional=(), tied=None):
    """Copies HF-named `state` into `model`, or raises CheckpointMismatchError naming every problem.

    `names`: {HF name: (Keras variable path, kind)} covering the model. `display_name` renders names
    in the checkpoint's own convention in the error message; names in `optional` may be missing
    (their variables keep their values). `tied`: {name a checkpoint may store: the name it must equal}.
    """
    table = weight_table(model, names, optional)
    state = dict(state)
    problems = []
    for alias, target in (tied or {}).items():
        if alias in state:
            value = state.pop(alias)
            if target in state and not np.array_equal(value, state[target]):
                problems.append(
                    f"{display_name(alias)} differs from {display_name(target)}; "
                    "the checkpoint's family ties them and so does this model"
                )
    missing = sorted(name for name in set(table) - set(state) if not table[name].optional)
    unexpected = sorted(set(state) - set(table))
    problems += [f"missing: {display_name(name)} {table[name].hf_shape()}" for name in missing]
    problems += [f"unexpected: {display_name(name)} {tuple(np.shape(state[name]))}" for name in unexpected]
    for name in sorted(set(table) & set(state)):
        want, got = table[name].hf_shape(), tuple(np.shape(state[name]))
        if want != got:
            problems.append(f"wrong shape: {display_name(name)} is {got}, the model's config wants {want}")
    if problems:
        raise CheckpointMismatchError(
            f"{source} does not match the model built from its config "
            f"({len(problems)} problem(s)):\n  " + "\n  ".join(problems)
        )
    for name, entry in table.items():
        if name in state:
            entry.variable.assign(entry.to_keras(np.asarray(state[name], dtype="float32")))


def extract(model, names, optional=()):
    """The model's weights as an HF-named dict of float32 numpy arrays (`names` as in `assign`; those in
    `optional` are left out)."""
    return {name: entry.from_keras().astype("float32") for name, entry in weight_table(model, names, optional).items()
            if not entry.optional}
