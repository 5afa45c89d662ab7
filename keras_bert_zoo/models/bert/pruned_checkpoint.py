"""A pruned BertEncoder's weights at full size, as Hugging Face checkpoints hold them.

transformers 5 no longer prunes heads on load (`pruned_heads` in config.json is ignored), and no config key
says a layer has fewer feed-forward neurons. So a pruned encoder is written at its original shape: a removed
head's query/key/value rows and its columns of the attention output are zeros (the head adds nothing),
and so are a removed neuron's intermediate row, bias and output column (GELU(0) = 0 adds nothing): the
outputs are the pruned model's. Kept heads go back to their original places; kept neurons come first.

Example:
>>> from keras_bert_zoo.checkpoints.weight_map import extract
>>> from keras_bert_zoo.models.bert.backbone import BertEncoder
>>> from keras_bert_zoo.models.bert.checkpoint_names import encoder_names
>>> encoder = BertEncoder(10, 1, 2, 4, 8, pruned_heads={0: [0]}, intermediate_dims=[3])  # head 0: columns 0, 1
>>> state = full_size_state(encoder, extract(encoder, encoder_names(encoder)))
>>> attention_output = state["encoder.layer.0.attention.output.dense.weight"]
>>> attention_output.shape, float(abs(attention_output[:, :2]).max())
((4, 4), 0.0)
>>> state["encoder.layer.0.output.dense.weight"].shape
(4, 8)
"""

import numpy as np


def _scatter(tensor, axis, places, size):
    """`tensor` with its `axis` grown to `size`, its slices at `places`, zeros elsewhere."""
    shape = list(tensor.shape)
    shape[axis] = size
    full = np.zeros(shape, tensor.dtype)
    index = [slice(None)] * tensor.ndim
    index[axis] = places
    full[tuple(index)] = tensor
    return full


def full_size_state(encoder, state, prefix=""):
    """`state` (HF names, `prefix` as `bert.` in task checkpoints) with every pruned layer zero-padded back
    to `encoder.num_heads` heads and `encoder.intermediate_dim` neurons."""
    state = dict(state)
    head_dim = encoder.hidden_dim // encoder.num_heads
    for i in range(encoder.num_layers):
        name = f"{prefix}encoder.layer.{i}."
        lost = set((encoder.pruned_heads or {}).get(i, ()))
        if lost:
            kept = [head for head in range(encoder.num_heads) if head not in lost]
            places = np.concatenate([np.arange(head * head_dim, (head + 1) * head_dim) for head in kept])
            for part in ("query", "key", "value"):
                for kind in ("weight", "bias"):
                    key = f"{name}attention.self.{part}.{kind}"
                    state[key] = _scatter(state[key], 0, places, encoder.hidden_dim)
            key = f"{name}attention.output.dense.weight"
            state[key] = _scatter(state[key], 1, places, encoder.hidden_dim)
        size = encoder.intermediate_dims[i] if encoder.intermediate_dims else encoder.intermediate_dim
        if size != encoder.intermediate_dim:
            places = np.arange(size)
            for key, axis in ((f"{name}intermediate.dense.weight", 0), (f"{name}intermediate.dense.bias", 0),
                              (f"{name}output.dense.weight", 1)):
                state[key] = _scatter(state[key], axis, places, encoder.intermediate_dim)
    return state
