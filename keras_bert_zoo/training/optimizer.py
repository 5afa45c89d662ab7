"""The BERT fine-tuning optimizer: AdamW, warmup + linear decay, no decay on LayerNorm and biases."""

import re

import keras

from keras_bert_zoo import compat
from keras_bert_zoo.training.schedule import WarmupLinearDecay

# Variables original BERT leaves out of weight decay (LayerNorm gamma/beta and every bias).
NO_DECAY = ["gamma", "beta", "bias"]


_EMBEDDINGS = {"token_embedding", "position_embedding", "segment_embedding", "embeddings_layer_norm"}


def layer_depth(path, num_layers):
    """0 for embeddings, i + 1 for transformer_layer_i, num_layers + 1 for pooler and heads.

    The encoder's layer names are looked for anywhere in the path, so a name scope or an outer
    model prefixing them changes nothing.
    """
    parts = path.split("/")
    if _EMBEDDINGS.intersection(parts):
        return 0
    for part in parts:
        if match := re.fullmatch(r"transformer_layer_(\d+)", part):
            if int(match.group(1)) >= num_layers:
                raise ValueError(f"{path} is in transformer_layer_{match.group(1)} but num_layers={num_layers}.")
            return int(match.group(1)) + 1
    return num_layers + 1


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class AdamW(compat.ClipsGlobalBatchGradients, keras.optimizers.AdamW):
    """Keras AdamW that clips the gradient of the global batch under tf.distribute, as one device does,
    and on TensorFlow updates each variable with one fused Adam kernel.

    Keras 3.15 clips each replica's share of the gradient (`BaseOptimizer._backend_apply_gradients`) and
    sums the shares afterwards (`TFOptimizer._backend_update_step`), so `clipnorm`/`global_clipnorm` saw
    one replica's norm; here the shares are summed first, then clipped. On one device nothing changes.

    On TensorFlow each variable's update is one `ResourceApplyAdam` kernel, in place (Keras writes ten
    element-wise ops, each a temporary the size of the variable), with epsilon added as PyTorch's and
    transformers' AdamW add it, to the bias-corrected sqrt(v) (Keras adds it before the correction: an
    epsilon 1/sqrt(1 - beta_2^t) times larger, 32x at the first step, which damps small gradients early in
    fine-tuning: 1.2 points of SST-2 dev accuracy for MiniLM). With `clip_grad_norm_`'s norm too
    (`compat.ClipsGlobalBatchGradients`), training equals transformers + torch step for step
    (tests/test_training_parity.py).

    >>> AdamW(learning_rate=1e-3, global_clipnorm=1.0).global_clipnorm
    1.0
    """

    def update_step(self, gradient, variable, learning_rate):
        if keras.backend.backend() != "tensorflow" or self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        import tensorflow as tf

        variable = variable.value if isinstance(variable, keras.Variable) else variable
        index = self._get_variable_index(variable)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        # m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2); variable -= lr_t m / (sqrt(v) + eps_t), where
        # lr_t = lr sqrt(1 - b2^t) / (1 - b1^t) and eps_t = eps sqrt(1 - b2^t): torch's
        # lr m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t).
        beta_2_power = tf.pow(beta_2, step)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].value.handle, v=self._velocities[index].value.handle,
            beta1_power=tf.pow(beta_1, step), beta2_power=beta_2_power, lr=tf.cast(learning_rate, dtype),
            beta1=beta_1, beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype) * tf.sqrt(1 - beta_2_power),
            grad=tf.convert_to_tensor(tf.cast(gradient, dtype)),  # an embedding's IndexedSlices made dense, as Keras
        )


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class LayerwiseAdamW(AdamW):
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
        depths = [layer_depth(v.path, self.num_layers) for v in variables]
        if variables and min(depths) == top:  # decay would silently be uniform
            raise ValueError(
                "layerwise_lr_decay places none of these variables in the encoder (no token_embedding or "
                f"transformer_layer_<i> in their paths): {sorted(v.path for v in variables)}"
            )
        self._lr_multipliers = [self.layerwise_lr_decay ** (top - depth) for depth in depths]

    def update_step(self, gradient, variable, learning_rate):
        multiplier = self._lr_multipliers[compat.optimizer_variable_index(self, variable)]
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
    clipnorm=None,
    global_clipnorm=1.0,
    gradient_accumulation_steps=None,
    epsilon=1e-6,
):
    """AdamW as BERT fine-tunes: warmup then linear decay to 0, no decay on LayerNorm weights and biases.

    `global_clipnorm` clips all gradients together, as original BERT does (`tf.clip_by_global_norm(grads,
    1.0)`); `clipnorm` clips each variable's gradient instead (pass `global_clipnorm=None` with it). Under
    tf.distribute both clip the gradient of the global batch (see `AdamW`). Keras 3.15's
    `gradient_accumulation_steps` fails under `MirroredStrategy` (a `merge_call` inside a `cond`). Under a
    `mixed_float16` policy `model.compile` wraps the optimizer in a `LossScaleOptimizer` by itself.

    Example:
    >>> optimizer = create_optimizer(5e-5, num_train_steps=1000, warmup_steps=100)
    >>> float(optimizer.learning_rate), optimizer.global_clipnorm
    (0.0, 1.0)
    >>> create_optimizer(5e-5, 1000, 100, clipnorm=1.0, global_clipnorm=None).clipnorm
    1.0
    """
    if clipnorm is not None and global_clipnorm is not None:
        raise ValueError(f"clipnorm={clipnorm} and global_clipnorm={global_clipnorm} are both set; clip "
                         "per variable or globally, not both (pass global_clipnorm=None with clipnorm).")
    kwargs = {
        "learning_rate": WarmupLinearDecay(learning_rate, num_train_steps, warmup_steps),
        "weight_decay": weight_decay,
        "epsilon": epsilon,
        "clipnorm": clipnorm,
        "global_clipnorm": global_clipnorm,
        "gradient_accumulation_steps": gradient_accumulation_steps,
    }
    if layerwise_lr_decay is None:
        optimizer = AdamW(**kwargs)
    else:
        if num_layers is None:
            raise ValueError("layerwise_lr_decay needs num_layers (the encoder's num_layers).")
        optimizer = LayerwiseAdamW(num_layers, layerwise_lr_decay, **kwargs)
    optimizer.exclude_from_weight_decay(var_names=NO_DECAY)
    return optimizer
