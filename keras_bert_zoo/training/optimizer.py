"""The BERT fine-tuning optimizer: AdamW, warmup + linear decay, no decay on LayerNorm and biases."""

import re

import keras

from keras_bert_zoo.training.schedule import WarmupLinearDecay

# Variables original BERT leaves out of weight decay (LayerNorm gamma/beta and every bias).
NO_DECAY = ["gamma", "beta", "bias"]


def layer_depth(path, num_layers):
    """0 for embeddings, i + 1 for transformer_layer_i, num_layers + 1 for pooler and heads."""
    if path.split("/")[0] in ("token_embedding", "position_embedding", "segment_embedding",
                              "embeddings_layer_norm"):
        return 0
    match = re.match(r"transformer_layer_(\d+)/", path)
    return int(match.group(1)) + 1 if match else num_layers + 1


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class LayerwiseAdamW(keras.optimizers.AdamW):
    """AdamW whose step for a variable at depth d is scaled by `layerwise_lr_decay ** (L + 1 - d)`.

    Written by hand: Keras optimizers have one learning rate for all variables. The decoupled weight
    decay keeps the global learning rate.
    """

    def __init__(self, num_layers, layerwise_lr_decay, **kwargs):
        super().__init__(**kwargs)
        self.num_layers = num_layers
        self.layerwise_lr_decay = layerwise_lr_decay

    def build(self, variables):
        super().build(variables)
        top = self.num_layers + 1
        self._lr_multipliers = [
            self.layerwise_lr_decay ** (top - layer_depth(v.path, self.num_layers)) for v in variables
        ]

    def update_step(self, gradient, variable, learning_rate):
        multiplier = self._lr_multipliers[self._get_variable_index(variable)]
        super().update_step(gradient, variable, learning_rate * multiplier)

    def get_config(self):
        return {**super().get_config(), "num_layers": self.num_layers,
                "layerwise_lr_decay": self.layerwise_lr_decay}


def create_optimizer(
    learning_rate,
    num_train_steps,
    warmup_steps,
    weight_decay=0.01,
    layerwise_lr_decay=None,
    num_layers=None,
    clipnorm=1.0,
    gradient_accumulation_steps=None,
    epsilon=1e-6,
):
    """AdamW as BERT fine-tunes: warmup then linear decay to 0, no decay on LayerNorm weights and biases.

    Under a `mixed_float16` policy `model.compile` wraps it in a `LossScaleOptimizer` by itself.

    Example:
    >>> optimizer = create_optimizer(5e-5, num_train_steps=1000, warmup_steps=100)
    >>> float(optimizer.learning_rate)
    0.0
    """
    kwargs = dict(
        learning_rate=WarmupLinearDecay(learning_rate, num_train_steps, warmup_steps),
        weight_decay=weight_decay,
        epsilon=epsilon,
        clipnorm=clipnorm,
        gradient_accumulation_steps=gradient_accumulation_steps,
    )
    if layerwise_lr_decay is None:
        optimizer = keras.optimizers.AdamW(**kwargs)
    else:
        if num_layers is None:
            raise ValueError("layerwise_lr_decay needs num_layers (the encoder's num_layers).")
        optimizer = LayerwiseAdamW(num_layers, layerwise_lr_decay, **kwargs)
    optimizer.exclude_from_weight_decay(var_names=NO_DECAY)
    return optimizer
