"""ElectraPretrainer: ELECTRA's joint pretraining of a generator and a discriminator, `model.fit`-able.

The generator (a small `ElectraEncoder` with the tied masked-LM head, `BertPretrainer(next_sentence=False)`,
Hugging Face's `ElectraForMaskedLM`) fills the masked positions; its samples replace them; the
discriminator (`ElectraDiscriminator`, Hugging Face's `ElectraForPreTraining`) tells, for every real token,
whether it was replaced. Both share the token, position and token-type embeddings (and their LayerNorm), as
in the ELECTRA paper. The loss is the generator's masked-LM loss (mean over masked positions) plus
`rtd_weight` (50) times the discriminator's (sigmoid cross-entropy, mean over real tokens).
"""

import keras
from keras import ops

from keras_bert_zoo.models.electra.backbone import ElectraEncoder
from keras_bert_zoo.models.electra.discriminator import ElectraDiscriminator
from keras_bert_zoo.models.pretrainer import BertPretrainer
from keras_bert_zoo.names import PADDING_MASK, SEGMENT_IDS, TOKEN_IDS

# What a batch holds: the masked encoder inputs and the data's masking (`keras_bert_zoo.data.mask_tokens`).
INPUTS = (TOKEN_IDS, SEGMENT_IDS, PADDING_MASK, "mask_positions", "mask_ids", "mask_weights")


def replace_at(token_ids, positions, values, weights):
    """`token_ids` [batch, seq] with `values` [batch, P] written at `positions` [batch, P] where `weights` > 0
    (positions of one row distinct; unused slots have weight 0).

    >>> import numpy as np
    >>> np.asarray(replace_at([[5, 4, 7, 4]], [[1, 3, 0]], [[8, 9, 6]], [[1.0, 1.0, 0.0]])).tolist()
    [[5, 8, 7, 9]]
    """
    token_ids = ops.convert_to_tensor(token_ids, "int32")
    used = ops.cast(ops.convert_to_tensor(weights) > 0, "int32")
    hits = ops.one_hot(positions, ops.shape(token_ids)[1], dtype="int32") * used[:, :, None]  # [batch, P, seq]
    written = ops.sum(hits * ops.cast(values, "int32")[:, :, None], axis=1)
    return ops.where(ops.sum(hits, axis=1) > 0, written, token_ids)


def corrupt(token_ids, padding_mask, positions, original_ids, sampled_ids, weights):
    """`(corrupted_ids, rtd_labels)`: the masked `token_ids` with the generator's `sampled_ids` at the masked
    positions, and 1 where that differs from the original text (`original_ids` at those positions), on real
    tokens only; a sample equal to the original token is not a replacement.

    >>> ids, labels = corrupt([[2, 4, 7, 4, 3]], [[1, 1, 1, 1, 1]], [[1, 3]], [[6, 9]], [[6, 8]], [[1.0, 1.0]])
    >>> import numpy as np
    >>> np.asarray(ids).tolist(), np.asarray(labels).tolist()
    ([[2, 6, 7, 8, 3]], [[0, 0, 0, 1, 0]])
    """
    original = replace_at(token_ids, positions, original_ids, weights)
    corrupted = replace_at(token_ids, positions, sampled_ids, weights)
    labels = ops.cast(corrupted != original, "int32") * ops.cast(padding_mask, "int32")
    return corrupted, labels


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class ElectraPretrainer(keras.Model):
    """A discriminator `encoder` and a generator built beside it, trained together with `fit`.

    Inputs (one dict, no targets): `token_ids` (masked), `segment_ids`, `padding_mask`, and the masking:
    `mask_positions`, `mask_ids` (the original tokens there) and `mask_weights` (1 for a real prediction),
    as `keras_bert_zoo.data.pretraining_dataset(..., as_features=True)` gives them. Outputs:
    `mlm_logits` [batch, P, vocab] (generator), `sampled_ids` [batch, P] (drawn from its softmax, seeded
    by `seed`), `rtd_logits` and `rtd_labels` [batch, seq] (discriminator, on the corrupted text).
    `fit` reports `loss`, `mlm_loss` and `rtd_loss`.

    Args:
        encoder: the discriminator's `ElectraEncoder`; the generator shares its embeddings.
        generator_num_layers, generator_hidden_dim, generator_num_heads, generator_intermediate_dim: the
            generator's shape (defaults: the encoder's layers, a quarter of its width, 64-wide heads,
            4x feed-forward), as the paper's.
        rtd_weight: the discriminator loss's weight (50 in the paper).
        seed: seeds the sampling of replacements.

    `discriminator` (an `ElectraDiscriminator`) and `generator` (a `BertPretrainer`) save with `kbz.save_hf`
    as `ElectraForPreTraining` and `ElectraForMaskedLM` folders.

    Example:
    >>> import numpy as np
    >>> from keras_bert_zoo.models.electra import ElectraEncoder
    >>> model = ElectraPretrainer(ElectraEncoder(50, 1, 2, 16, 32, embedding_dim=8), generator_hidden_dim=8, seed=1)
    >>> ids = np.array([[2, 4, 7, 4, 3]], "int32")
    >>> out = model({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": 1 + 0 * ids,
    ...              "mask_positions": np.array([[1, 3]]), "mask_ids": np.array([[6, 9]]),
    ...              "mask_weights": np.array([[1.0, 1.0]])})
    >>> tuple(out["mlm_logits"].shape), tuple(out["rtd_logits"].shape)
    ((1, 2, 50), (1, 5))
    """

    def __init__(self, encoder, generator_num_layers=None, generator_hidden_dim=None, generator_num_heads=None,
                 generator_intermediate_dim=None, rtd_weight=50.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        hidden = generator_hidden_dim or max(1, encoder.hidden_dim // 4)
        self.generator_num_layers = generator_num_layers or encoder.num_layers
        self.generator_hidden_dim = hidden
        self.generator_num_heads = generator_num_heads or max(1, hidden // 64)
        self.generator_intermediate_dim = generator_intermediate_dim or 4 * hidden
        self.rtd_weight, self.seed = float(rtd_weight), seed
        self.encoder = encoder
        self.discriminator = ElectraDiscriminator(encoder, name="discriminator")
        generator_encoder = ElectraEncoder(
            encoder.vocabulary_size, self.generator_num_layers, self.generator_num_heads, hidden,
            self.generator_intermediate_dim, embedding_dim=encoder.embedding_dim,
            max_sequence_length=encoder.max_sequence_length, num_segments=encoder.num_segments,
            dropout=encoder.dropout, activation=encoder.activation, layer_norm_epsilon=encoder.layer_norm_epsilon,
            embeddings=encoder.embeddings, dtype=encoder.dtype_policy, name="generator_encoder")
        self.generator = BertPretrainer(generator_encoder, next_sentence=False, name="generator")
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.mlm_loss_tracker = keras.metrics.Mean(name="mlm_loss")
        self.rtd_loss_tracker = keras.metrics.Mean(name="rtd_loss")
        # Its parts are built functional models and it has no weights of its own: built now, so that a
        # backup restores into it before the first batch (a killed run resumes).
        self.built = True

    def call(self, inputs, training=None):
        encoder_inputs = {name: inputs[name] for name in (TOKEN_IDS, SEGMENT_IDS, PADDING_MASK)}
        mlm_logits = self.generator({**encoder_inputs, "mask_positions": inputs["mask_positions"]},
                                    training=training)["mlm_logits"]
        batch, predictions = ops.shape(mlm_logits)[0], ops.shape(mlm_logits)[1]
        sampled = keras.random.categorical(ops.reshape(mlm_logits, (-1, ops.shape(mlm_logits)[-1])), 1,
                                           seed=self.seed_generator, dtype="int32")
        sampled = ops.stop_gradient(ops.reshape(sampled, (batch, predictions)))
        corrupted, labels = corrupt(inputs[TOKEN_IDS], inputs[PADDING_MASK], inputs["mask_positions"],
                                    inputs["mask_ids"], sampled, inputs["mask_weights"])
        rtd_logits = self.discriminator({**encoder_inputs, TOKEN_IDS: corrupted}, training=training)["rtd_logits"]
        return {"mlm_logits": mlm_logits, "sampled_ids": sampled, "rtd_logits": rtd_logits, "rtd_labels": labels}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The generator's masked-LM loss + `rtd_weight` x the discriminator's; `x` holds the targets."""
        mlm_weights = ops.cast(x["mask_weights"], "float32")
        mlm = ops.sparse_categorical_crossentropy(x["mask_ids"], y_pred["mlm_logits"], from_logits=True)
        mlm = ops.sum(mlm * mlm_weights) / ops.maximum(ops.sum(mlm_weights), 1.0)
        tokens = ops.cast(x[PADDING_MASK], "float32")
        rtd = ops.binary_crossentropy(ops.cast(y_pred["rtd_labels"], "float32"), y_pred["rtd_logits"],
                                      from_logits=True)
        rtd = ops.sum(rtd * tokens) / ops.maximum(ops.sum(tokens), 1.0)
        self.mlm_loss_tracker.update_state(mlm)
        self.rtd_loss_tracker.update_state(rtd)
        return mlm + self.rtd_weight * rtd

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "generator_num_layers": self.generator_num_layers,
            "generator_hidden_dim": self.generator_hidden_dim,
            "generator_num_heads": self.generator_num_heads,
            "generator_intermediate_dim": self.generator_intermediate_dim,
            "rtd_weight": self.rtd_weight,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**{**config, "encoder": keras.saving.deserialize_keras_object(config["encoder"])})
