"""A model's hidden states and attention probabilities, from a second functional model over its own layers.

`with_intermediate_outputs(model)` takes a backbone or a task model of any family and returns a functional
model over the same layer objects (the same weights, nothing copied) whose outputs are a dict:
`outputs` (what `model` returns), `hidden_states` (the embeddings' output, then each block's, as
transformers' `output_hidden_states`: num_layers + 1 tensors [batch, seq, hidden]) and
`attention_probabilities` (each block's, [batch, heads, seq, seq], before dropout). The model itself is not
touched, so its normal forward keeps keras' fused attention; only this second graph asks the blocks for
their probabilities (`return_attention_scores=True`, which keras-hub's `TransformerEncoder` and our
`DebertaBlock` take). ALBERT's shared blocks count once per depth they run at.

Written with `keras.models.clone_model(..., clone_function=identity, call_function=...)`: the public way to
re-run a functional graph with the same layers while changing how some of them are called.

Example:
>>> import numpy as np, keras_bert_zoo as kbz
>>> from keras_bert_zoo.compress import with_intermediate_outputs
>>> classifier = kbz.BertClassifier(kbz.BertEncoder(100, 2, 2, 32, 64), num_classes=2)
>>> ids = np.ones((1, 5), "int32")
>>> out = with_intermediate_outputs(classifier)({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids})
>>> len(out["hidden_states"]), tuple(out["attention_probabilities"][0].shape), tuple(out["outputs"].shape)
(3, (1, 2, 5, 5), (1, 2))
"""

import keras
from keras import tree

from keras_bert_zoo.models.task import is_backbone


def backbone_of(model):
    """The backbone of a backbone or of a task model (`model.encoder`), or a TypeError."""
    backbone = model if is_backbone(model) else getattr(model, "encoder", None)
    if not is_backbone(backbone):
        raise TypeError(f"{type(model).__name__} is neither a backbone nor a task model over one (.encoder).")
    return backbone


def _fresh_inputs(model):
    return tree.map_structure(lambda x: keras.Input(batch_shape=x.shape, dtype=x.dtype, name=x.name), model.input)


def _same_layer(layer):
    return layer


class _WithAttention(keras.layers.Layer):
    """Calls a block with `return_attention_scores=True`. A layer of its own because the blocks'
    `compute_output_shape` knows only their first output; this one's output is traced from `call`."""

    def __init__(self, block):
        super().__init__(name=f"{block.name}_with_attention", dtype=block.dtype_policy)
        self.block = block

    def call(self, *args, **kwargs):
        return self.block(*args, return_attention_scores=True, **kwargs)


def _backbone_with_intermediate_outputs(backbone):
    """{**backbone outputs, "hidden_states": [...], "attention_probabilities": [...]} over backbone's layers."""
    blocks = {id(layer): _WithAttention(layer) for layer in backbone.transformer_layers}
    hidden_states, attention_probabilities = [], []

    def call_block(layer, *args, **kwargs):
        if id(layer) not in blocks:
            return layer(*args, **kwargs)
        if not hidden_states:
            hidden_states.append(args[0])  # the embeddings' output, the first block's input
        x, probabilities = blocks[id(layer)](*args, **kwargs)
        hidden_states.append(x)
        attention_probabilities.append(probabilities)
        return x

    inputs = _fresh_inputs(backbone)
    outputs = keras.models.clone_model(backbone, input_tensors=inputs, clone_function=_same_layer,
                                       call_function=call_block).output
    return keras.Model(inputs, {**outputs, "hidden_states": hidden_states,
                                "attention_probabilities": attention_probabilities})


def with_intermediate_outputs(model):
    """A functional model over `model`'s layers returning `outputs`, `hidden_states` and
    `attention_probabilities` (see the module docstring)."""
    backbone = backbone_of(model)
    tapped = _backbone_with_intermediate_outputs(backbone)
    intermediate = {}

    def call_task_layer(layer, *args, **kwargs):
        if layer is not backbone:
            return layer(*args, **kwargs)
        outputs = dict(tapped(*args, **kwargs))
        for key in ("hidden_states", "attention_probabilities"):
            intermediate[key] = outputs.pop(key)
        return outputs

    inputs = _fresh_inputs(model)
    outputs = keras.models.clone_model(model, input_tensors=inputs, clone_function=_same_layer,
                                       call_function=call_task_layer).output if model is not backbone else None
    if model is backbone:
        outputs = dict(tapped(inputs))
        intermediate = {key: outputs.pop(key) for key in ("hidden_states", "attention_probabilities")}
    return keras.Model(inputs, {"outputs": outputs, **intermediate}, name=f"{model.name}_intermediate_outputs")
