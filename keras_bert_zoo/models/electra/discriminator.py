"""ElectraDiscriminator: ELECTRA's replaced-token detection head, one logit per token (Hugging Face's
`ElectraForPreTraining`)."""

import keras

from keras_bert_zoo.layers import get_activation
from keras_bert_zoo.models.bert.backbone import bert_initializer
from keras_bert_zoo.models.task import BertTask, encoder_inputs, float32_logits


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class ElectraDiscriminator(BertTask):
    """Says, for every token, whether a generator replaced it: `rtd_logits` [batch, seq] (> 0: replaced).

    A hidden-size dense "discriminator_dense" with the encoder's `activation` (config.json's
    `hidden_act`, as Hugging Face's `ElectraDiscriminatorPredictions`), then a dense to one logit
    "discriminator_prediction", on every position of `sequence_output` (padding too: a loss masks it).
    Works on any backbone; ELECTRA's is `ElectraEncoder`.

    Example:
    >>> import numpy as np, keras_bert_zoo as kbz
    >>> from keras_bert_zoo.models.electra import ElectraEncoder
    >>> model = ElectraDiscriminator(ElectraEncoder(100, 2, 2, 32, 64, embedding_dim=16))
    >>> ids = np.ones((2, 8), "int32")
    >>> tuple(model({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids})["rtd_logits"].shape)
    (2, 8)
    """

    def __init__(self, encoder, **kwargs):
        inputs = encoder_inputs(encoder)
        x = keras.layers.Dense(encoder.hidden_dim, activation=get_activation(encoder.activation),
                               kernel_initializer=bert_initializer(), dtype=encoder.dtype_policy,
                               name="discriminator_dense")(encoder(inputs)["sequence_output"])
        x = keras.layers.Dense(1, kernel_initializer=bert_initializer(), dtype=encoder.dtype_policy,
                               name="discriminator_prediction")(x)
        super().__init__(encoder, inputs, {"rtd_logits": float32_logits(x)[:, :, 0]}, **kwargs)
