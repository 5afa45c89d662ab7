"""BertTokenClassifier: one label per wordpiece (NER, POS tagging), for every family."""

import keras

from keras_bert_zoo.models.task import BertTask, check_label_names, dropout_dense_logits, encoder_inputs


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertTokenClassifier(BertTask):
    """Dropout and a dense layer on any backbone's `sequence_output`; returns logits [batch, seq, num_classes].

    `label_names` (optional, one per class, e.g. BIO tags) travel with the model.

    Example:
    >>> import numpy as np, keras_bert_zoo as kbz
    >>> model = kbz.BertTokenClassifier(kbz.BertEncoder(100, 2, 2, 32, 64), num_classes=9)
    >>> ids = np.ones((2, 8), "int32")
    >>> tuple(model({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids}).shape)
    (2, 8, 9)
    """

    config_keys = ("num_classes", "dropout", "label_names")

    def __init__(self, encoder, num_classes, dropout=0.1, label_names=None, **kwargs):
        label_names = check_label_names(label_names, num_classes)
        inputs = encoder_inputs(encoder)
        logits = dropout_dense_logits(encoder, encoder(inputs)["sequence_output"], num_classes, dropout)
        super().__init__(encoder, inputs, logits, **kwargs)
        self.num_classes = num_classes
        self.dropout = dropout
        self.label_names = label_names
