"""Small building blocks the BERT models need and Keras/keras-hub do not provide.

Everything else (embeddings, transformer blocks, the tied masked-LM head) is reused from keras-hub,
whose layers compute exactly what BERT computes once given the exact GELU.
"""

import keras
from keras import ops

# Names that checkpoints use for BERT's activation ("hidden_act") -> Keras activation names.
HF_ACTIVATIONS = {
    "gelu": "gelu",  # exact erf GELU, as original BERT and transformers' "gelu"
    "gelu_new": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
    "tanh": "tanh",
}


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
def gelu_approximate(x):
    """Tanh-approximated GELU (transformers' "gelu_new"), serializable by name."""
    return keras.activations.gelu(x, approximate=True)


def get_activation(name):
    """Returns the Keras activation for a Keras or checkpoint activation name.

    Example:
    >>> get_activation("gelu_new").__name__
    'gelu_approximate'
    """
    name = HF_ACTIVATIONS.get(name, name)
    if name == "gelu_approximate":
        return gelu_approximate
    return keras.activations.get(name)


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class FoldChoices(keras.layers.Layer):
    """Merges the batch and choices axes: [batch, choices, seq] -> [batch * choices, seq].

    Written by hand because `keras.layers.Reshape` never touches the batch axis and `ops.reshape`
    in a functional graph would freeze the (dynamic) sequence length at trace time.
    """

    def call(self, x):
        return ops.reshape(x, (-1, ops.shape(x)[-1]))

    def compute_output_shape(self, input_shape):
        batch, choices, seq = input_shape
        return (None if batch is None or choices is None else batch * choices, seq)


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class UnfoldChoices(keras.layers.Layer):
    """Splits [batch * choices, 1] scores back into [batch, choices].

    With `num_choices=None` the count is read at run time from `like`, an input [batch, choices, ...].
    """

    def __init__(self, num_choices, **kwargs):
        super().__init__(**kwargs)
        self.num_choices = num_choices

    def call(self, x, like=None):
        return ops.reshape(x, (-1, self.num_choices or ops.shape(like)[1]))

    def compute_output_shape(self, input_shape):
        return (None, self.num_choices)

    def get_config(self):
        return {**super().get_config(), "num_choices": self.num_choices}
