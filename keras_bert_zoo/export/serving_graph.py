"""What each task's export provides: the functions behind `serving_default` and `from_ids`.

Example:
>>> import tensorflow as tf
>>> [spec.name for spec in string_inputs("question", "context")]
['question', 'context']
>>> valid_utf8(tf.constant([b"\\xff\\xfe abc"])).numpy()[0].decode()
'\\ufffd\\ufffd abc'
"""

import dataclasses
from collections.abc import Callable

import tensorflow as tf

ENCODER_INPUT_NAMES = ("token_ids", "segment_ids", "padding_mask")


@dataclasses.dataclass
class ServingGraph:
    """The two endpoints of one export, with the examples that warm it up by default."""

    serve_text: Callable  # one [batch] string tensor per `text_inputs` spec -> dict of dense outputs
    text_inputs: list  # tf.TensorSpec per argument of `serve_text`, named as the signature's inputs
    from_ids: Callable  # dict of int32 encoder inputs -> dict of dense outputs
    ids_inputs: dict  # tf.TensorSpec per encoder input
    default_warmup: list  # warmup examples, each a dict {input name: string (or list of strings)}


def text_graph(preprocessor, from_ids, pair=False):
    """The `ServingGraph` of a task that reads one text (`text`) or a pair (`text_a`, `text_b`)."""
    if pair:
        return ServingGraph(
            serve_text=lambda text_a, text_b: from_ids(preprocessor((text_a, text_b))),
            text_inputs=string_inputs("text_a", "text_b"),
            from_ids=from_ids,
            ids_inputs=ids_inputs(),
            default_warmup=[{"text_a": "A man is playing a guitar.", "text_b": "Someone plays music."}],
        )
    return ServingGraph(
        serve_text=lambda text: from_ids(preprocessor(text)),
        text_inputs=string_inputs("text"),
        from_ids=from_ids,
        ids_inputs=ids_inputs(),
        default_warmup=[{"text": "This is a short example sentence."}, {"text": ""}],
    )


def string_inputs(*names, shape=(None,)):
    """`tf.TensorSpec`s of string batches, one per signature input name."""
    return [tf.TensorSpec(shape, tf.string, name=name) for name in names]


def ids_inputs(shape=(None, None)):
    """`tf.TensorSpec`s of the encoder's int32 inputs, keyed and named as the encoder's."""
    return {name: tf.TensorSpec(shape, tf.int32, name=name) for name in ENCODER_INPUT_NAMES}


def encoder_inputs(features):
    """The encoder's three inputs out of a dict of features (that may hold more)."""
    return {name: features[name] for name in ENCODER_INPUT_NAMES}


def valid_utf8(strings):
    """Each invalid UTF-8 byte run becomes U+FFFD, as Python's `bytes.decode(errors="replace")` does.

    Outputs that quote the input (words, answers) are then valid UTF-8, and character offsets
    index the string a client decodes that way.
    """
    return tf.strings.unicode_transcode(strings, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD)


def fixed_sequence_length(preprocessor, task):
    """The preprocessor's `sequence_length`, which must be set for `task` (it sizes its windows)."""
    if preprocessor.sequence_length is None:
        raise ValueError(f"Exporting a {task} needs a preprocessor with a fixed sequence_length, not None.")
    return preprocessor.sequence_length
