"""BertSpanQA: extractive question answering (SQuAD) start/end logits, for every family."""

import keras
from keras import ops

from keras_bert_zoo.models.bert.backbone import bert_initializer
from keras_bert_zoo.models.task import BertTask, encoder_inputs, float32_logits

# Logit given to padding positions: far below any real logit, still finite in float32.
PADDING_LOGIT = -1e9


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertSpanQA(BertTask):
    """A dense layer to 2 scores per token of any backbone: `start_logits`, `end_logits` [batch, seq].

    Padding positions get `PADDING_LOGIT`, so a softmax or argmax never picks them. The model
    carries how its answers are read, which its exports and evaluation use: windows of its
    preprocessor's `sequence_length` sharing `doc_stride` wordpieces, questions cut to
    `max_query_length`, and the decoding of `kbz.data.decode_answers` (`n_best`,
    `max_answer_length`, `null_score_threshold`: `float("inf")` for SQuAD v1.1, which always answers).

    Example:
    >>> import numpy as np, keras_bert_zoo as kbz
    >>> model = kbz.BertSpanQA(kbz.BertEncoder(100, 2, 2, 32, 64))
    >>> ids = np.ones((2, 8), "int32")
    >>> tuple(model({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids})["start_logits"].shape)
    (2, 8)
    """

    config_keys = ("doc_stride", "max_query_length", "n_best", "max_answer_length", "null_score_threshold")

    def __init__(self, encoder, doc_stride=128, max_query_length=64, n_best=20, max_answer_length=30,
                 null_score_threshold=0.0, **kwargs):
        if min(doc_stride, max_query_length, n_best, max_answer_length) < 1:
            raise ValueError(f"doc_stride={doc_stride}, max_query_length={max_query_length}, n_best={n_best} and "
                             f"max_answer_length={max_answer_length} must all be >= 1.")
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
        self.doc_stride, self.max_query_length, self.n_best = doc_stride, max_query_length, n_best
        self.max_answer_length, self.null_score_threshold = max_answer_length, float(null_score_threshold)
