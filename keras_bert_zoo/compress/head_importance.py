"""How much each attention head and each feed-forward neuron matters to a task model's loss.

Michel et al. 2019 ("Are Sixteen Heads Really Better than One?") put a gate g_h = 1 on each head's output and
score the head by |dL/dg_h| summed over a dataset. A head reaches the block's output only through its slice W_h
of the attention output kernel, so scaling the gate scales W_h and dL/dg_h = sum(dL/dW_h * W_h): the score
needs the kernel's gradient alone, no gate in the graph. Feed-forward neurons get the same score from their
row of the output dense kernel (the first-order Taylor importance of a neuron gate, not weight magnitude).
As in the paper's code, |.| is taken per batch and each layer's head scores are divided by their L2 norm.

Example:
>>> import numpy as np, tensorflow as tf, keras_bert_zoo as kbz
>>> model = kbz.BertClassifier(kbz.BertEncoder(50, 2, 4, 16, 32), num_classes=2)
>>> ids = np.ones((4, 6), "int32")
>>> data = tf.data.Dataset.from_tensors(({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids},
...                                      np.array([0, 1, 1, 0])))
>>> heads, neurons = gate_importance(model, data)
>>> [scores.shape for scores in heads], neurons[0].shape
([(4,), (4,)], (32,))
"""

import keras
import numpy as np
import tensorflow as tf

from keras_bert_zoo.models.albert.backbone import AlbertEncoder
from keras_bert_zoo.models.deberta.backbone import DebertaV3Encoder
from keras_bert_zoo.models.pruned_layers import PrunableEncoder
from keras_bert_zoo.models.task import BertTask, is_backbone

# Families whose encoder has no transformer_layer_i of its own to slice, and why.
NOT_PRUNABLE = {
    AlbertEncoder: "ALBERT shares one layer's weights across all its layers (num_groups groups), so a head or a "
                   "neuron cannot leave one layer alone, and its checkpoints have no per-layer sizes; distil it "
                   "into a smaller student instead (kbz.compress.Distiller)",
    DebertaV3Encoder: "DeBERTa-v3's layers use their own disentangled attention (relative-position terms through each "
                      "layer's query and key projections), not the keras-hub TransformerEncoder blocks that pruning "
                      "slices; distil it into a smaller student instead (kbz.compress.Distiller)",
}


def encoder_of(model):
    """The backbone of a prunable encoder (BERT, RoBERTa, XLM-RoBERTa, ELECTRA, DistilBERT) or of a task model
    over one; a ValueError for the families pruning cannot handle, a TypeError for other models."""
    encoder = model if is_backbone(model) else getattr(model, "encoder", None)
    for cls, why in NOT_PRUNABLE.items():
        if isinstance(encoder, cls):
            raise ValueError(f"{type(encoder).__name__} cannot be pruned: {why}.")
    if not isinstance(encoder, PrunableEncoder) or not (is_backbone(model) or isinstance(model, BertTask)):
        raise TypeError(f"{type(model).__name__} is not an encoder (BertEncoder, RobertaEncoder, ElectraEncoder, "
                        "DistilBertEncoder, ...) nor a task model over one; an ElectraPretrainer's discriminator is "
                        "pruned as pretrainer.discriminator (or its .encoder) after pretraining.")
    return encoder


def layer_variables(model, layer):
    """{path within transformer layer `layer`: variable} of `model` (an encoder or a task model over one)."""
    prefix = f"transformer_layer_{layer}/"
    return {v.path.removeprefix(prefix): v for v in model.weights if v.path.startswith(prefix)}


def gate_importance(model, dataset, loss=None, normalize=True):
    """(head scores, neuron scores): one array per transformer layer each, |dL/dgate| summed over `dataset`.

    `dataset` yields (inputs, labels) batches for `model` (a task model over a prunable encoder); `loss(labels,
    outputs)` defaults to sparse categorical cross-entropy on logits (classifiers). `normalize` divides each
    layer's head scores by their L2 norm, so layers compare (Michel et al.).
    """
    encoder = encoder_of(model)
    if is_backbone(model):
        raise TypeError("gate_importance needs a task model (a loss on its outputs), not a bare encoder.")
    loss = loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    kernels = []
    for i in range(encoder.num_layers):
        variables = layer_variables(model, i)
        kernels += [variables["self_attention_layer/attention_output/kernel"],  # [heads, head_dim, hidden]
                    variables["feedforward_output_dense/kernel"]]  # [neurons, hidden]

    @tf.function(reduce_retracing=True)
    def gate_gradients(inputs, labels):  # TensorFlow's tape: the package trains on the TensorFlow backend
        with tf.GradientTape() as tape:
            value = loss(labels, model(inputs, training=False))
        gradients = tape.gradient(value, kernels)
        axes = {3: (1, 2), 2: (1,)}
        return [tf.abs(tf.reduce_sum(g * k, axis=axes[len(k.shape)])) for g, k in zip(gradients, kernels)]

    totals = [np.zeros(k.shape[0], "float64") for k in kernels]
    for inputs, labels in dataset:
        for total, score in zip(totals, gate_gradients(inputs, labels)):
            total += score.numpy()
    heads, neurons = totals[0::2], totals[1::2]
    if normalize:
        heads = [scores / max(np.linalg.norm(scores), 1e-20) for scores in heads]
    return heads, neurons
