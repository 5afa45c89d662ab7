"""BertClassifier: sequence classification or regression on the [CLS] (first) token, for every family."""

import keras

from keras_bert_zoo.models.task import (
    BertTask,
    check_head,
    check_label_names,
    dropout_dense_logits,
    encoder_inputs,
    head_dense,
)

# head -> how Hugging Face's classes of each family read the first token.
HEADS = ("pooled", "dense_tanh", "dense_relu", "dense_gelu")
# The activation of each head's hidden-size dense layer "head_dense" ("gelu" is the exact GELU).
HEAD_ACTIVATIONS = {"dense_tanh": "tanh", "dense_relu": "relu", "dense_gelu": "gelu"}


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertClassifier(BertTask):
    """A classification head on any family's backbone; returns logits [batch, num_classes].

    `head` is Hugging Face's head of the family, None for the backbone's `default_classifier_head`:
    "pooled" (BERT: dropout and dense "logits" on `pooled_output`), "dense_tanh" (RoBERTa's
    `RobertaClassificationHead` on the first token: dropout, dense tanh "head_dense", dropout, dense
    "logits"), "dense_relu" (DistilBERT's pre-classifier on the first token: dense relu "head_dense",
    dropout, dense "logits"), "dense_gelu" (ELECTRA's `ElectraClassificationHead`: RoBERTa's with the
    exact GELU for tanh). `num_classes=1` makes it a regressor (one score per example, e.g.
    STS-B). `label_names` (optional, one per class) travel with the model: exports and `kbz.save_hf`
    use them. `pair`: it reads text pairs (`text_a`, `text_b`), as its exports then take them.
    `preprocessor`: see `BertTask`.

    Example:
    >>> import numpy as np, keras_bert_zoo as kbz
    >>> model = kbz.BertClassifier(kbz.BertEncoder(100, 2, 2, 32, 64), num_classes=3)
    >>> ids = np.ones((2, 8), "int32")
    >>> tuple(model({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids}).shape)
    (2, 3)
    >>> model.head
    'pooled'
    """

    config_keys = ("num_classes", "dropout", "label_names", "pair", "head")

    def __init__(self, encoder, num_classes, dropout=0.1, label_names=None, pair=False, head=None, **kwargs):
        label_names = check_label_names(label_names, num_classes)
        inputs = encoder_inputs(encoder)
        head = check_head(head, HEADS, encoder, "default_classifier_head")
        encoded = encoder(inputs)
        if head == "pooled":
            x = encoded["pooled_output"]
        else:
            x = encoded["sequence_output"][:, 0, :]
            if head != "dense_relu":  # RoBERTa's and ELECTRA's heads drop out before their dense too
                x = keras.layers.Dropout(dropout, dtype=encoder.dtype_policy, name="head_dropout")(x)
            x = head_dense(encoder, x, HEAD_ACTIVATIONS[head])
        logits = dropout_dense_logits(encoder, x, num_classes, dropout)
        super().__init__(encoder, inputs, logits, **kwargs)
        self.num_classes = num_classes
        self.dropout = dropout
        self.label_names = label_names
        self.pair = bool(pair)
        self.head = head
