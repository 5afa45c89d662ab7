"""BertMultipleChoice: one score per candidate (SWAG, COPA, RACE), for every family."""

import keras

from keras_bert_zoo.layers import FoldChoices, UnfoldChoices
from keras_bert_zoo.models.bert.backbone import bert_initializer
from keras_bert_zoo.models.task import BertTask, check_head, encoder_inputs, float32_logits, head_dense

HEADS = ("pooled", "dense_relu", "dense_gelu")


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertMultipleChoice(BertTask):
    """Scores each (context, choice) pair with any family's backbone; returns logits [batch, num_choices].

    Inputs are the encoder's inputs with a choices axis: [batch, num_choices, seq]. `num_choices=None`
    takes any number of choices, as Hugging Face's `BertForMultipleChoice` does. `head`, None for the
    backbone's `default_multiple_choice_head`: "pooled" (BERT, RoBERTa: dropout and dense
    "choice_score" on `pooled_output`), "dense_relu" (DistilBERT: dense relu "head_dense" on the
    first token, dropout, dense "choice_score") or "dense_gelu" (ELECTRA's sequence summary: the same
    with the exact GELU).

    Example:
    >>> import numpy as np, keras_bert_zoo as kbz
    >>> model = kbz.BertMultipleChoice(kbz.BertEncoder(100, 2, 2, 32, 64), num_choices=4)
    >>> ids = np.ones((2, 4, 8), "int32")
    >>> tuple(model({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids}).shape)
    (2, 4)
    """

    config_keys = ("num_choices", "dropout", "head")

    def __init__(self, encoder, num_choices, dropout=0.1, head=None, **kwargs):
        inputs = encoder_inputs(encoder, shape=(num_choices, None))
        head = check_head(head, HEADS, encoder, "default_multiple_choice_head")
        fold = FoldChoices(name="fold_choices")
        encoded = encoder({key: fold(value) for key, value in inputs.items()})
        if head == "pooled":
            x = encoded["pooled_output"]
        else:
            x = head_dense(encoder, encoded["sequence_output"][:, 0, :], head.removeprefix("dense_"))
        x = keras.layers.Dropout(dropout, dtype=encoder.dtype_policy, name="dropout")(x)
        scores = keras.layers.Dense(
            1, kernel_initializer=bert_initializer(), dtype=encoder.dtype_policy, name="choice_score"
        )(x)
        unfold = UnfoldChoices(num_choices, name="unfold_choices")
        logits = unfold(float32_logits(scores), like=None if num_choices else inputs["token_ids"])
        super().__init__(encoder, inputs, logits, **kwargs)
        self.num_choices = num_choices
        self.dropout = dropout
        self.head = head
