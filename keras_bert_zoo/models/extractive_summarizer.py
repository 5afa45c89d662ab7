"""BertExtractiveSummarizer: BERTSum (Liu & Lapata 2019), one score per sentence, for every family."""

import keras
from keras_hub.layers import SinePositionEncoding, TransformerEncoder

from keras_bert_zoo.models.bert.backbone import bert_initializer
from keras_bert_zoo.models.task import BertTask, encoder_inputs, float32_logits

SENTENCE_POSITIONS = "sentence_positions"
SENTENCE_MASK = "sentence_mask"
# The logit of a padded sentence slot: sigmoid 0, so it is never selected and adds no loss for label 0.
MASKED_LOGIT = -1e4


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertExtractiveSummarizer(BertTask):
    """Scores each sentence of a packed document for an extractive summary; returns logits [batch, sentences].

    The document is packed as "[CLS] s1 [SEP] [CLS] s2 [SEP] ..." with segment ids alternating 0/1 per
    sentence (`keras_bert_zoo.data.summarization.pack_sentences`). Besides the encoder's inputs it takes
    `sentence_positions` [batch, sentences] (the index of each sentence's [CLS]) and `sentence_mask`
    [batch, sentences] (1 for a real sentence). Those [CLS] vectors, plus sinusoidal sentence positions
    as in the paper, go through `num_layers` post-LayerNorm transformer blocks (the inter-sentence
    transformer, attending only to real sentences) and a dense layer to one float32 logit per sentence;
    a padded slot's logit is `MASKED_LOGIT`.

    Example:
    >>> import numpy as np, keras_bert_zoo as kbz
    >>> model = BertExtractiveSummarizer(kbz.BertEncoder(100, 2, 2, 32, 64))
    >>> ids = np.ones((2, 8), "int32")
    >>> logits = model({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids,
    ...                 "sentence_positions": np.array([[0, 4, 0], [0, 3, 6]], "int32"),
    ...                 "sentence_mask": np.array([[1, 1, 0], [1, 1, 1]], "int32")})
    >>> tuple(logits.shape), float(logits[0, 2])
    ((2, 3), -10000.0)
    """

    config_keys = ("num_layers", "num_heads", "intermediate_dim", "dropout")

    def __init__(self, encoder, num_layers=2, num_heads=None, intermediate_dim=None, dropout=0.1, **kwargs):
        hidden = encoder.hidden_dim
        num_heads = num_heads or max(1, hidden // 64)  # 64-wide heads, as BERT's
        intermediate_dim = intermediate_dim or 4 * hidden
        policy = encoder.dtype_policy
        inputs = encoder_inputs(encoder)
        inputs[SENTENCE_POSITIONS] = keras.Input(shape=(None,), dtype="int32", name=SENTENCE_POSITIONS)
        inputs[SENTENCE_MASK] = keras.Input(shape=(None,), dtype="int32", name=SENTENCE_MASK)
        encoded = encoder({name: inputs[name] for name in encoder.input})["sequence_output"]
        x = keras.ops.take_along_axis(encoded, inputs[SENTENCE_POSITIONS][:, :, None], axis=1)
        mask = keras.ops.cast(inputs[SENTENCE_MASK], x.dtype)[:, :, None]
        x = (x + SinePositionEncoding(dtype=policy, name="sentence_position_encoding")(x)) * mask
        x = keras.layers.Dropout(dropout, dtype=policy, name="sentence_dropout")(x)
        for index in range(num_layers):
            x = TransformerEncoder(intermediate_dim, num_heads, dropout=dropout, activation="gelu",
                                   layer_norm_epsilon=1e-6, kernel_initializer=bert_initializer(), dtype=policy,
                                   name=f"inter_sentence_layer_{index}")(x, padding_mask=inputs[SENTENCE_MASK])
        logits = keras.layers.Dense(1, kernel_initializer=bert_initializer(), dtype=policy, name="logits")(x)
        logits = float32_logits(keras.ops.squeeze(logits, axis=-1))
        logits = keras.ops.where(keras.ops.cast(inputs[SENTENCE_MASK], "bool"), logits, MASKED_LOGIT)
        super().__init__(encoder, inputs, logits, **kwargs)
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
def sentence_loss(labels, logits):
    """BERTSum's loss: binary cross-entropy summed over a document's sentences (a padded slot, logit
    `MASKED_LOGIT` and label 0, adds nothing), averaged over documents."""
    return keras.ops.sum(keras.ops.binary_crossentropy(labels, logits, from_logits=True), axis=-1)
