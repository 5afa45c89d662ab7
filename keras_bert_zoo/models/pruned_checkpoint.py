"""A pruned encoder's weights at full size, as Hugging Face checkpoints hold them (every family whose blocks
are keras-hub `TransformerEncoder`s: see `keras_bert_zoo.models.pruned_layers`).

transformers 5 no longer prunes heads on load (`pruned_heads` in config.json is ignored), and no config key
says a layer has fewer feed-forward neurons. So a pruned encoder is written at its original shape: a removed
head's query/key/value rows and its columns of the attention output are zeros (the head adds nothing),
and so are a removed neuron's intermediate row, bias and output column (GELU(0) = ReLU(0) = 0 adds nothing):
the outputs are the pruned model's. Kept heads go back to their original places; kept neurons come first.
The tensors are found by their Keras variable paths in the family's name table, so one function serves
BERT's names (`encoder.layer.0.attention.self.query`), DistilBERT's (`transformer.layer.0.attention.q_lin`), ...

Example:
>>> from keras_bert_zoo.checkpoints.weight_map import extract
>>> from keras_bert_zoo.models.bert.backbone import BertEncoder
>>> from keras_bert_zoo.models.bert.checkpoint_names import encoder_names
>>> encoder = BertEncoder(10, 1, 2, 4, 8, pruned_heads={0: [0]}, intermediate_dims=[3])  # head 0: columns 0, 1
>>> names = encoder_names(encoder)
>>> state = full_size_state(encoder, extract(encoder, names), names)
>>> attention_output = state["encoder.layer.0.attention.output.dense.weight"]
>>> attention_output.shape, float(abs(attention_output[:, :2]).max())
((4, 4), 0.0)
>>> state["encoder.layer.0.output.dense.weight"].shape
(4, 8)
"""

import numpy as np

# Variables of a block (paths within "transformer_layer_i/") -> the axis of their HF tensor (nn.Linear
# weights are [out, in]) that runs over the heads' units or the feed-forward neurons.
HEAD_AXES = {f"self_attention_layer/{part}/{kind}": 0
             for part in ("query", "key", "value") for kind in ("kernel", "bias")}
HEAD_AXES["self_attention_layer/attention_output/kernel"] = 1
NEURON_AXES = {"feedforward_intermediate_dense/kernel": 0, "feedforward_intermediate_dense/bias": 0,
               "feedforward_output_dense/kernel": 1}


def _scatter(tensor, axis, places, size):
    """`tensor` with its `axis` grown to `size`, its slices at `places`, zeros elsewhere."""
    shape = list(tensor.shape)
    shape[axis] = size
    full = np.zeros(shape, tensor.dtype)
    index = [slice(None)] * tensor.ndim
    index[axis] = places
    full[tuple(index)] = tensor
    return full


def full_size_state(encoder, state, names):
    """`state` (HF names) with every pruned layer zero-padded back to `encoder.num_heads` heads and
    `encoder.intermediate_dim` neurons. `names`: the family's {HF name: (Keras variable path, kind)} table of
    the model `state` came from (a task model's, prefixed, or the encoder's own)."""
    state = dict(state)
    hf_name = {path: name for name, (path, _) in names.items()}
    head_dim = encoder.hidden_dim // encoder.num_heads
    for i in range(encoder.num_layers):
        lost = set((encoder.pruned_heads or {}).get(i, ()))
        if lost:
            kept = [head for head in range(encoder.num_heads) if head not in lost]
            places = np.concatenate([np.arange(head * head_dim, (head + 1) * head_dim) for head in kept])
            for path, axis in HEAD_AXES.items():
                key = hf_name[f"transformer_layer_{i}/{path}"]
                state[key] = _scatter(state[key], axis, places, encoder.hidden_dim)
        size = encoder.intermediate_dims[i] if encoder.intermediate_dims else encoder.intermediate_dim
        if size != encoder.intermediate_dim:
            for path, axis in NEURON_AXES.items():
                key = hf_name[f"transformer_layer_{i}/{path}"]
                state[key] = _scatter(state[key], axis, np.arange(size), encoder.intermediate_dim)
    return state
