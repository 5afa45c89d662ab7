"""Structured pruning: remove attention heads, feed-forward neurons and whole layers by slicing the weights.

`prune(model, heads=..., ffn=..., layers=...)` returns a smaller model of the same class (a `BertEncoder`,
`RobertaEncoder`, `XLMRobertaEncoder`, `ElectraEncoder` or `DistilBertEncoder`, or a `BertClassifier`,
`BertSpanQA`, `ElectraDiscriminator`, ... over one) whose weights are the kept slices of the original's: it
saves to `.keras`, loads back, exports, and `kbz.save_hf` writes it at full size with the removed parts zeroed
(`keras_bert_zoo.models.pruned_checkpoint`). ALBERT (one layer's weights shared by all) and DeBERTa-v3 (its
own attention) raise a ValueError that says why. Fractions rank heads and neurons by `gate_importance` on
`dataset`; explicit lists name them.

Example:
>>> import numpy as np, keras_bert_zoo as kbz
>>> from keras_bert_zoo.compress import prune
>>> model = kbz.BertClassifier(kbz.BertEncoder(50, 3, 4, 16, 32), num_classes=2)
>>> small = prune(model, heads={0: [1, 2]}, ffn={1: list(range(8))}, layers=[2])
>>> small.encoder.num_layers, small.encoder.pruned_heads, small.encoder.intermediate_dims
(2, {0: [1, 2]}, [32, 24])
"""

import numpy as np

from keras_bert_zoo.compress.head_importance import encoder_of, gate_importance, layer_variables
from keras_bert_zoo.models.task import is_backbone

# Variables of a transformer layer cut along heads (axis) or feed-forward neurons (axis); the rest is copied.
_HEAD_AXES = {f"self_attention_layer/{part}/{kind}": axis
              for part in ("query", "key", "value") for kind, axis in (("kernel", 1), ("bias", 0))}
_HEAD_AXES["self_attention_layer/attention_output/kernel"] = 0
_NEURON_AXES = {"feedforward_intermediate_dense/kernel": 1, "feedforward_intermediate_dense/bias": 0,
                "feedforward_output_dense/kernel": 0}


def prune(model, heads=None, ffn=None, layers=(), dataset=None, loss=None, importance=None):
    """A smaller copy of `model` (an encoder of a prunable family or a task model over one) without the named
    parts.

    heads: a fraction of all heads, removed lowest importance first across layers (each layer keeps one), or
        {layer: [head indices among its current heads]}.
    ffn: a fraction of each layer's feed-forward neurons (lowest importance), or {layer: [neuron indices]}.
    layers: indices of whole transformer layers to remove.
    dataset, loss: (inputs, labels) batches and the loss whose gradient ranks heads and neurons
        (`gate_importance`); needed only for fractions.
    importance: (head scores, neuron scores) from `gate_importance`, instead of `dataset` (to prune one model
        at several fractions).
    Layer indices are the model's current ones; the result renumbers the layers it keeps.
    """
    encoder = encoder_of(model)
    for name, value in (("heads", heads), ("ffn", ffn)):
        if not (value is None or isinstance(value, dict) or (isinstance(value, float) and 0 <= value < 1)):
            raise ValueError(f"{name}={value!r}: give a fraction in [0, 1) or {{layer: [indices]}}.")
    lost = encoder.pruned_heads or {}
    current_heads = [encoder.num_heads - len(lost.get(i, ())) for i in range(encoder.num_layers)]
    current_neurons = encoder.intermediate_dims or [encoder.intermediate_dim] * encoder.num_layers
    kept_layers = _kept_layers(layers, encoder.num_layers)
    if importance is None and (isinstance(heads, float) or isinstance(ffn, float)):
        if dataset is None:
            raise ValueError("pruning a fraction of heads or neurons ranks them on data: pass dataset= "
                             "(or importance=).")
        importance = gate_importance(model, dataset, loss)
    head_scores, neuron_scores = importance or (None, None)
    removed_heads = (_lowest_heads(heads, head_scores, kept_layers) if isinstance(heads, float)
                     else _checked(heads, current_heads, "heads"))
    removed_neurons = (_lowest_neurons(ffn, neuron_scores, kept_layers) if isinstance(ffn, float)
                       else _checked(ffn, current_neurons, "ffn"))
    keep_heads = {i: [h for h in range(current_heads[i]) if h not in removed_heads.get(i, ())] for i in kept_layers}
    keep_neurons = {i: [n for n in range(current_neurons[i]) if n not in removed_neurons.get(i, ())]
                    for i in kept_layers}
    for i in kept_layers:
        if not keep_heads[i] or not keep_neurons[i]:
            raise ValueError(f"layer {i} would keep no {'heads' if not keep_heads[i] else 'neurons'}; "
                             "remove the whole layer with layers=[...] instead.")
    small_encoder = _smaller_encoder(encoder, kept_layers, keep_heads, keep_neurons)
    small = small_encoder if is_backbone(model) else same_task_over(model, small_encoder)
    _copy_kept_weights(model, small, kept_layers, keep_heads, keep_neurons)
    return small


def same_task_over(model, encoder):
    """A new task model of `model`'s class and options (labels, head, preprocessor) over `encoder`."""
    return type(model)(encoder, preprocessor=model.preprocessor, name=model.name,
                       **{key: getattr(model, key) for key in type(model).config_keys})


def _kept_layers(layers, num_layers):
    layers = sorted({int(layer) for layer in layers})
    if any(not 0 <= layer < num_layers for layer in layers) or len(layers) == num_layers:
        raise ValueError(f"layers={layers}: remove some of the layers 0..{num_layers - 1}, not all.")
    return [i for i in range(num_layers) if i not in layers]


def _checked(removed, counts, what):
    """{layer: set of indices} from an explicit {layer: [indices]} (None: nothing), or a ValueError."""
    checked = {}
    for layer, indices in (removed or {}).items():
        layer, indices = int(layer), {int(index) for index in indices}
        if not 0 <= layer < len(counts):
            raise ValueError(f"{what} names layer {layer}; the encoder has layers 0..{len(counts) - 1}.")
        if any(not 0 <= index < counts[layer] for index in indices):
            raise ValueError(f"{what}[{layer}]={sorted(indices)}: layer {layer} has {counts[layer]}, "
                             f"indices 0..{counts[layer] - 1}.")
        checked[layer] = indices
    return checked


def _lowest_heads(fraction, scores, kept_layers):
    """The `fraction` of all heads of the kept layers with the lowest scores, each layer keeping one."""
    candidates = sorted((scores[i][h], i, h) for i in kept_layers for h in range(len(scores[i])))
    count = round(fraction * len(candidates))
    removed, left = {}, {i: len(scores[i]) for i in kept_layers}
    for _, i, h in candidates:
        if sum(map(len, removed.values())) == count:
            break
        if left[i] > 1:
            removed.setdefault(i, set()).add(h)
            left[i] -= 1
    return removed


def _lowest_neurons(fraction, scores, kept_layers):
    """Per kept layer, the `fraction` of its neurons with the lowest scores."""
    return {i: set(np.argsort(scores[i], kind="stable")[:round(fraction * len(scores[i]))].tolist())
            for i in kept_layers}


def _smaller_encoder(encoder, kept_layers, keep_heads, keep_neurons):
    """A new encoder of `encoder`'s class with the kept layers, heads (by original index) and neurons."""
    pruned_heads = {}
    for new, old in enumerate(kept_layers):
        lost = set((encoder.pruned_heads or {}).get(old, ()))
        original = [h for h in range(encoder.num_heads) if h not in lost]  # current index -> original index
        kept = {original[h] for h in keep_heads[old]}
        if len(kept) < encoder.num_heads:
            pruned_heads[new] = [h for h in range(encoder.num_heads) if h not in kept]
    intermediate_dims = [len(keep_neurons[old]) for old in kept_layers]
    if all(dim == encoder.intermediate_dim for dim in intermediate_dims):
        intermediate_dims = None
    config = {key: getattr(encoder, key) for key in type(encoder).config_keys}
    config.update(num_layers=len(kept_layers), pruned_heads=pruned_heads or None, intermediate_dims=intermediate_dims)
    return type(encoder)(**config, dtype=encoder.dtype_policy, name=encoder.name)


def _copy_kept_weights(model, small, kept_layers, keep_heads, keep_neurons):
    """Assigns every variable of `small` its slice of the matching variable of `model`."""
    values = {v.path: v.numpy() for v in model.weights if not v.path.startswith("transformer_layer_")}
    for new, old in enumerate(kept_layers):
        for path, variable in layer_variables(model, old).items():
            value = variable.numpy()
            if path in _HEAD_AXES:
                value = np.take(value, keep_heads[old], axis=_HEAD_AXES[path])
            if path in _NEURON_AXES:
                value = np.take(value, keep_neurons[old], axis=_NEURON_AXES[path])
            values[f"transformer_layer_{new}/{path}"] = value
    for variable in small.weights:
        variable.assign(values.pop(variable.path))
    if values:
        raise AssertionError(f"weights of the original model with no place in the pruned one: {sorted(values)}")
