"""BertPretrainer: masked-LM (every family) and next-sentence-prediction (BERT) heads, as in pretraining."""

import keras
from keras_hub.layers import MaskedLMHead

from keras_bert_zoo.layers import get_activation
from keras_bert_zoo.models.bert.backbone import bert_initializer
from keras_bert_zoo.models.task import BertTask, encoder_inputs, float32_logits


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertPretrainer(BertTask):
    """A backbone of any family with its pretraining heads.

    Inputs: the encoder's inputs plus `mask_positions` [batch, P] (int). Outputs:
    `mlm_logits` [batch, P, vocab] from a dense + activation + LayerNorm transform and a decoder tied
    to the word embeddings (plus an output bias), and `nsp_logits` [batch, 2] from the pooled output
    (left out with `next_sentence=False`: the masked-LM-only model, Hugging Face's `BertForMaskedLM`,
    `RobertaForMaskedLM`, ...). The masked-LM head works on every backbone (it uses its
    `token_embedding`, `layer_norm_epsilon` and `activation`, or `mlm_activation` where the backbone's
    class names another, as RoBERTa's does); next-sentence prediction needs a `pooled_output`.

    Example:
    >>> import numpy as np, keras_bert_zoo as kbz
    >>> encoder = kbz.BertEncoder(100, 2, 2, 32, 64)
    >>> pretrainer = kbz.BertPretrainer(encoder)
    >>> out = pretrainer({"token_ids": np.ones((2, 8), "int32"), "segment_ids": np.zeros((2, 8), "int32"),
    ...                   "padding_mask": np.ones((2, 8), "int32"), "mask_positions": np.ones((2, 3), "int32")})
    >>> tuple(out["mlm_logits"].shape), tuple(out["nsp_logits"].shape)
    ((2, 3, 100), (2, 2))
    """

    config_keys = ("next_sentence",)

    def __init__(self, encoder, next_sentence=True, **kwargs):
        own_inputs = encoder_inputs(encoder)
        if next_sentence and "pooled_output" not in encoder.output:
            raise ValueError(f"next_sentence=True needs a pooled_output; {type(encoder).__name__} has none "
                             "(pass next_sentence=False for the masked-LM head alone).")
        inputs = {
            **own_inputs,
            "mask_positions": keras.Input(shape=(None,), dtype="int32", name="mask_positions"),
        }
        self.mlm_head = MaskedLMHead(
            token_embedding=encoder.token_embedding,
            intermediate_activation=get_activation(getattr(encoder, "mlm_activation", encoder.activation)),
            layer_norm_epsilon=encoder.layer_norm_epsilon,
            kernel_initializer=bert_initializer(),
            dtype=encoder.dtype_policy,
            name="mlm_head",
        )
        encoded = encoder(own_inputs)
        outputs = {
            "mlm_logits": float32_logits(
                self.mlm_head(encoded["sequence_output"], mask_positions=inputs["mask_positions"])
            ),
        }
        if next_sentence:
            self.nsp_dense = keras.layers.Dense(
                2, kernel_initializer=bert_initializer(), dtype=encoder.dtype_policy, name="nsp_dense"
            )
            outputs["nsp_logits"] = float32_logits(self.nsp_dense(encoded["pooled_output"]))
        super().__init__(encoder, inputs, outputs, **kwargs)
        self.next_sentence = next_sentence
