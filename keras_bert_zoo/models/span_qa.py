"""BertSpanQA: extractive question answering (SQuAD) start/end logits."""

import keras
from keras import ops

from keras_bert_zoo.models.bert.backbone import bert_initializer
from keras_bert_zoo.models.task import BertTask, encoder_inputs, float32_logits

# Logit given to padding positions: far below any real logit, still finite in float32.
PADDING_LOGIT = -1e9


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertSpanQA(BertTask):
    """A dense layer to 2 scores per token: `start_logits`, `end_logits` [batch, seq].

    Padding positions get `PADDING_LOGIT`, so a softmax or argmax never picks them.

    Example:
    >>> import numpy as np, keras_bert_zoo as kbz
    >>> model = kbz.BertSpanQA(kbz.BertEncoder(100, 2, 2, 32, 64))
    >>> ids = np.ones((2, 8), "int32")
    >>> tuple(model({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids})["start_logits"].shape)
    (2, 8)
    """

    def __init__(self, encoder, **kwargs):
        inputs = encoder_inputs(encoder)
        x = encoder(inputs)["sequence_output"]
        logits = keras.layers.Dense(
            2, kernel_initializer=bert_initializer(), dtype=encoder.dtype_policy, name="span_logits"
        )(x)
        logits = float32_logits(logits)
        is_token = ops.cast(inputs["padding_mask"], "bool")
        outputs = {
            name: ops.where(is_token, logits[:, :, i], PADDING_LOGIT)
            for i, name in enumerate(("start_logits", "end_logits"))
        }
        super().__init__(encoder, inputs, outputs, **kwargs)
