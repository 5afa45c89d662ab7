"""Multiple choice features: every (context, choice) pair packed in-graph; shared by `multiple_choice_dataset`
and the multiple choice serving."""

import tensorflow as tf


def pack_choices(preprocessor, contexts, choices):
    """Encoder inputs [batch, num_choices, seq] for `contexts` [batch] and `choices` [batch, num_choices].

    Every (context, choice) pair goes through `preprocessor` as a text pair, in one batch.

    >>> import keras_bert_zoo as kbz
    >>> preprocessor = kbz.load_preprocessor("bert_tiny_uncased", sequence_length=8)
    >>> out = pack_choices(preprocessor, tf.constant(["a"]), tf.constant([["yes", "no"]]))
    >>> out["token_ids"].numpy().tolist()
    [[[101, 1037, 102, 2748, 102, 0, 0, 0], [101, 1037, 102, 2053, 102, 0, 0, 0]]]
    """
    choices = tf.convert_to_tensor(choices, tf.string)
    num_choices = _static_or_dynamic(choices, 1)
    packed = preprocessor((tf.repeat(contexts, num_choices), tf.reshape(choices, [-1])))
    return {name: tf.reshape(value, [-1, num_choices, _static_or_dynamic(value, -1)]) for name, value in packed.items()}


def _static_or_dynamic(tensor, axis):
    """The size of `axis` as a Python int where known when tracing (the outputs keep it), else a tensor."""
    size = tensor.shape[axis]
    return size if size is not None else tf.shape(tensor)[axis]
