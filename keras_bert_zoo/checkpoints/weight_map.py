"""The one table that maps Keras variables to Hugging Face parameter names.

Every format goes through Hugging Face names: HF folders directly, Google TF checkpoints via
`google_names`. An entry knows how to reshape between the Keras variable and the HF tensor.
"""

import dataclasses
import math

import numpy as np

from keras_bert_zoo.checkpoints.architectures import dense, layer_norm, of_model
from keras_bert_zoo.checkpoints.errors import CheckpointError


class CheckpointMismatchError(CheckpointError):
    """A checkpoint does not fit the model: names every missing, unexpected or misshapen tensor."""


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


def _encoder_names(num_layers):
    names = {
        "embeddings.word_embeddings.weight": ("token_embedding/embeddings", "copy"),
        "embeddings.position_embeddings.weight": ("position_embedding/embeddings", "copy"),
        "embeddings.token_type_embeddings.weight": ("segment_embedding/embeddings", "copy"),
        **layer_norm("embeddings.LayerNorm", "embeddings_layer_norm"),
        **dense(POOLER, "pooled_dense"),
    }
    for i in range(num_layers):
        hf, ours = f"encoder.layer.{i}", f"transformer_layer_{i}"
        attention = f"{ours}/self_attention_layer"
        for part in ("query", "key", "value"):
            names[f"{hf}.attention.self.{part}.weight"] = (f"{attention}/{part}/kernel", "linear_split_out")
            names[f"{hf}.attention.self.{part}.bias"] = (f"{attention}/{part}/bias", "bias_split")
        names[f"{hf}.attention.output.dense.weight"] = (f"{attention}/attention_output/kernel", "linear_split_in")
        names[f"{hf}.attention.output.dense.bias"] = (f"{attention}/attention_output/bias", "copy")
        names.update(layer_norm(f"{hf}.attention.output.LayerNorm", f"{ours}/self_attention_layer_norm"))
        names.update(dense(f"{hf}.intermediate.dense", f"{ours}/feedforward_intermediate_dense"))
        names.update(dense(f"{hf}.output.dense", f"{ours}/feedforward_output_dense"))
        names.update(layer_norm(f"{hf}.output.LayerNorm", f"{ours}/feedforward_layer_norm"))
    return names


POOLER = "pooler.dense"
# Tensors some checkpoints store although BERT ties them to another one.
TIED_ALIASES = {
    "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
    "cls.predictions.decoder.bias": "cls.predictions.bias",
}


def hf_weight_map(model):
    """{HF name: Entry} for any model in `architectures` (BertModel names for a bare BertEncoder).

    Where the Hugging Face class has no pooler (token-level heads, masked LM), the pooler's entries
    are `optional`: loaded when a checkpoint has them, never required, never written.
    """
    architecture = of_model(model)
    encoder = model if architecture.name == "BertModel" else model.encoder
    names = _encoder_names(encoder.num_layers)
    prefix = "" if architecture.name == "BertModel" else "bert."
    names = {f"{prefix}{k}": v for k, v in names.items()} | architecture.head
    variables = {v.path: v for v in model.weights}
    table = {}
    for hf_name, (path, kind) in names.items():
        optional = not architecture.has_pooler and hf_name.startswith(f"{prefix}{POOLER}.")
        table[hf_name] = Entry(variables.pop(path), kind, optional)
    if variables:  # the table must cover the model: no variable is left at its random init
        raise AssertionError(f"variables with no checkpoint name: {sorted(variables)}")
    return table


def normalize_hf_names(state):
    """Old HF files say LayerNorm.gamma/beta; newer say weight/bias."""
    return {
        name.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias"): value
        for name, value in state.items()
    }


def assign(model, state, source, display_name=str, optional=()):
    """Copies HF-named `state` into `model`, or raises CheckpointMismatchError naming every problem.

    `display_name` renders names in the checkpoint's own convention in the error message; names in
    `optional` may be missing (their variables keep their values).
    """
    table = hf_weight_map(model)
    state = dict(state)
    problems = []
    for alias, target in TIED_ALIASES.items():
        if alias in state:
            value = state.pop(alias)
            if target in state and not np.array_equal(value, state[target]):
                problems.append(
                    f"{display_name(alias)} differs from {display_name(target)}; "
                    "BERT ties them and so does this model"
                )
    missing = sorted(name for name in set(table) - set(state) if not (table[name].optional or name in optional))
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


def extract(model):
    """The model's weights as an HF-named dict of float32 numpy arrays."""
    return {name: entry.from_keras().astype("float32") for name, entry in hf_weight_map(model).items()
            if not entry.optional}
