"""BertTask: the shared base of every model that puts a head on a backbone of any family
(`keras_bert_zoo.models.backbone`)."""

import keras

from keras_bert_zoo.models.backbone import Backbone, quantization_of, quantize_the_rest
from keras_bert_zoo.models.bert.backbone import bert_initializer


def is_backbone(model):
    """True for a backbone of any family."""
    return isinstance(model, Backbone)


def encoder_inputs(encoder, shape=(None,)):
    """Fresh `keras.Input`s named like `encoder`'s own inputs (int32, `shape` after the batch axis).

    BERT's are token_ids, segment_ids, padding_mask; RoBERTa's token_ids, padding_mask.
    """
    if not is_backbone(encoder):
        raise TypeError(f"encoder must be a backbone (kbz.BertEncoder, RobertaEncoder, ...), "
                        f"got {type(encoder).__name__}.")
    return {name: keras.Input(shape=shape, dtype="int32", name=name) for name in encoder.input}


def check_head(head, choices, encoder, default_attribute):
    """`head`, or the encoder's class default when None, if it is one of `choices`; else a ValueError."""
    head = getattr(type(encoder), default_attribute) if head is None else head
    if head not in choices:
        raise ValueError(f"head={head!r} is not one of {', '.join(map(repr, choices))}.")
    if head == "pooled" and "pooled_output" not in encoder.output:
        raise ValueError(f"head='pooled' needs a pooled_output; {type(encoder).__name__} has none.")
    return head


def head_dense(encoder, x, activation):
    """The hidden-size dense layer "head_dense" of RoBERTa's classification head (tanh) and DistilBERT's
    pre-classifier (relu)."""
    return keras.layers.Dense(encoder.hidden_dim, activation=activation, kernel_initializer=bert_initializer(),
                              dtype=encoder.dtype_policy, name="head_dense")(x)


class BertTask(keras.Model):
    """A functional model over `self.encoder`; subclasses list their own constructor args.

    A task model owns its contract, as keras-hub's tasks do: its `preprocessor` (the
    `BertPreprocessor` it was trained with, raw text to encoder inputs; optional) and its
    serving options (label names, span QA decoding) are in its config, so a `.keras` file alone
    is enough to export, evaluate or serve it. Serialization nests the encoder's and the
    preprocessor's configs (the vocabulary is a saved asset), so `from_config` rebuilds the
    whole model and `.keras` files reload with their weights.
    """

    config_keys = ()

    def __init__(self, encoder, inputs, outputs, preprocessor=None, **kwargs):
        self.encoder = encoder
        super().__init__(inputs=inputs, outputs=outputs, dtype=encoder.dtype_policy, **kwargs)
        self.preprocessor = preprocessor

    @property
    def layers(self):
        # The preprocessor is not part of the graph (keras-hub's tasks leave it out too).
        return [layer for layer in super().layers if layer is not getattr(self, "preprocessor", None)]

    def get_config(self):
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "preprocessor": keras.saving.serialize_keras_object(self.preprocessor),  # None stays None
            **{key: getattr(self, key) for key in self.config_keys},
        }
        mode = quantization_of(self)  # the encoder's config records its own; this one the head's
        return config if mode is None else {**config, "quantization": mode}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        mode = config.pop("quantization", None)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        config["preprocessor"] = keras.saving.deserialize_keras_object(config.get("preprocessor"))
        model = cls(**config)
        return model if mode is None else quantize_the_rest(model, mode)


def check_label_names(label_names, num_classes):
    """`label_names` as a list of strings, one per class (None stays None), or a ValueError."""
    if label_names is None:
        return None
    label_names = [str(name) for name in label_names]
    if len(label_names) != num_classes:
        raise ValueError(f"{len(label_names)} label names for {num_classes} classes: {label_names}.")
    return label_names


def dropout_dense_logits(encoder, x, num_classes, dropout):
    """Dropout, then a dense layer to `num_classes` logits (named "dropout" and "logits", as the heads of
    `BertClassifier` and `BertTokenClassifier` are), in float32."""
    x = keras.layers.Dropout(dropout, dtype=encoder.dtype_policy, name="dropout")(x)
    logits = keras.layers.Dense(
        num_classes, kernel_initializer=bert_initializer(), dtype=encoder.dtype_policy, name="logits"
    )(x)
    return float32_logits(logits)


def float32_logits(x):
    """Logits in float32 whatever the compute dtype, so losses stay stable under mixed precision."""
    return keras.ops.cast(x, "float32")
