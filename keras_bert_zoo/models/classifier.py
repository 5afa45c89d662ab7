"""BertClassifier: sequence classification or regression on the pooled [CLS] output."""

import keras

from keras_bert_zoo.models.task import BertTask, check_label_names, dropout_dense_logits, encoder_inputs


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertClassifier(BertTask):
    """Dropout and a dense layer on `pooled_output`; returns logits [batch, num_classes].

    `num_classes=1` makes it a regressor (one score per example, e.g. STS-B). `label_names`
    (optional, one per class) travel with the model: exports and `kbz.save_hf` use them. `pair`:
    it reads text pairs (`text_a`, `text_b`), as its exports then take them. `preprocessor`: see
    `BertTask`.

    Example:
    >>> import numpy as np, keras_bert_zoo as kbz
    >>> model = kbz.BertClassifier(kbz.BertEncoder(100, 2, 2, 32, 64), num_classes=3)
    >>> ids = np.ones((2, 8), "int32")
    >>> tuple(model({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids}).shape)
    (2, 3)
    """

    config_keys = ("num_classes", "dropout", "label_names", "pair")

    def __init__(self, encoder, num_classes, dropout=0.1, label_names=None, pair=False, **kwargs):
        label_names = check_label_names(label_names, num_classes)
        inputs = encoder_inputs(encoder)
        logits = dropout_dense_logits(encoder, encoder(inputs)["pooled_output"], num_classes, dropout)
        super().__init__(encoder, inputs, logits, **kwargs)
        self.num_classes = num_classes
        self.dropout = dropout
        self.label_names = label_names
        self.pair = bool(pair)
