"""What every task's serving module provides: its graphs, its output schemas, and the pieces they share.

Each task has one module in this package holding its whole serving story (`TaskServing`): the
`serving_default` and `from_ids` graphs of its SavedModel, the outputs of its .tflite, its in-graph
decoder, and the `OutputSchema` of what it answers, which clients use to cut padding and print a line.

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


@dataclasses.dataclass(frozen=True)
class ServingLimits:
    """What one `serving_default` request may hold, so that no request can exhaust the server's memory.

    A request over a limit is refused with an `InvalidArgument` error that names the limit, before
    any encoder runs. The encoder runs on at most `encoder_batch_size` rows (texts, pairs, QA
    windows) at a time, so its memory grows with that, not with the request.

    Args:
        max_chars_per_text: characters (Unicode code points) of any one input string.
        max_texts_per_request: rows of a request (its batch size).
        max_windows_per_context: span QA windows of one context (one encoder row each).
        encoder_batch_size: rows the encoder runs on at once.
    """

    max_chars_per_text: int = 1_000_000
    max_texts_per_request: int = 1_000
    max_windows_per_context: int = 1_000
    encoder_batch_size: int = 64

    def __post_init__(self):
        for name, value in dataclasses.asdict(self).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, not {value!r}.")

    def check_texts(self, **texts):
        """The tensors of `texts` (input name: [batch] or [batch, n] strings), once within the limits."""
        rows = tf.shape(next(iter(texts.values())))[0]
        checks = [_assert_at_most(rows, self.max_texts_per_request, "request has {} texts", "max_texts_per_request")]
        for name, strings in texts.items():
            chars = tf.strings.length(strings, unit="UTF8_CHAR")
            if chars.shape.rank == 2:
                chars = tf.reduce_max(chars, axis=1)
            chars = tf.concat([chars, [0]], axis=0)  # the 0 for an empty batch
            longest = tf.argmax(chars, output_type=tf.int32)
            checks.append(_assert_at_most(chars[longest], self.max_chars_per_text, name + " {} has {} characters",
                                          "max_chars_per_text", longest))
        with tf.control_dependencies(checks):
            return tuple(tf.identity(strings) for strings in texts.values())

    def check_windows(self, example_index, num_examples):
        """An assert that no example has more than `max_windows_per_context` windows."""
        windows = tf.math.unsorted_segment_sum(tf.ones_like(example_index), example_index, num_examples)
        windows = tf.concat([windows, [0]], axis=0)  # the 0 for an empty batch
        most = tf.argmax(windows, output_type=tf.int32)
        return _assert_at_most(windows[most], self.max_windows_per_context, "context {} needs {} windows",
                               "max_windows_per_context", most)


def _assert_at_most(value, limit, what, name, *where):
    """An assert that `value <= limit`, failing with "<what>; this model accepts at most <limit> (<name>)"."""
    message = tf.strings.format(f"{what}; this model accepts at most {limit:,} ({name})", [*where, value])
    return tf.debugging.Assert(value <= limit, [message])


def in_chunks(fn, inputs, chunk_size):
    """`fn(inputs)` computed on `chunk_size` rows at a time, one chunk after the other.

    `inputs` and the outputs are nests of [rows, ...] tensors; an empty batch runs `fn` once. The
    memory `fn` needs then grows with `chunk_size`, not with the number of rows.
    """
    def row_specs(nest):
        return tf.nest.map_structure(lambda t: tf.TensorSpec([None, *t.shape[1:]], t.dtype), nest)

    outputs = tf.function(fn).get_concrete_function(row_specs(inputs)).structured_outputs
    rows = tf.shape(tf.nest.flatten(inputs)[0])[0]
    num_chunks = tf.maximum((rows + chunk_size - 1) // chunk_size, 1)
    arrays = tf.nest.map_structure(
        lambda spec: tf.TensorArray(spec.dtype, num_chunks, infer_shape=False, element_shape=spec.shape),
        row_specs(outputs),
    )

    def step(i, arrays):
        chunk = fn(tf.nest.map_structure(lambda t: t[i * chunk_size:(i + 1) * chunk_size], inputs))
        return i + 1, tf.nest.map_structure(lambda array, value: array.write(i, value), arrays, chunk)

    _, arrays = tf.while_loop(lambda i, _: i < num_chunks, step, (0, arrays), parallel_iterations=1)
    return tf.nest.map_structure(lambda array: array.concat(), arrays)


@dataclasses.dataclass(frozen=True)
class OutputSchema:
    """The outputs of one kind of answer: their exact names, which lists a count cuts, and its printed line.

    `counts` maps a `num_<things>` output to the list outputs padded to the batch's longest that it
    counts; `describe(example)` gives one readable line of an example's plain outputs (None: the
    outputs' `name=value` pairs).
    """

    names: frozenset
    describe: Callable = None
    counts: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class TaskServing:
    """How one task model is served, in every format.

    kind: the task model's class name. graph(model, preprocessor, options, limits) -> `ServingGraph`,
    with `options` a `ServingOptions`. tflite_outputs(model, options, tokenizer) -> a function of the
    encoder inputs giving the .tflite's outputs (None: no TFLite export). schemas: the `OutputSchema`
    of every answer its signatures and files give. takes: the `ServingOptions` fields it reads.
    """

    kind: str
    graph: Callable
    schemas: tuple
    takes: frozenset = frozenset()
    tflite_outputs: Callable = None


@dataclasses.dataclass(frozen=True)
class ServingOptions:
    """What an export is told besides the model: labels, text pairs, span QA windows and decoding."""

    label_names: list = None
    pair: bool = False
    doc_stride: int = 128
    max_query_length: int = 64
    n_best: int = 20
    max_answer_length: int = 30
    null_score_threshold: float = 0.0
    target_tokenizer: object = None  # a generator's, when its decoder writes another vocabulary than it reads
    generation: dict = None  # a generator's decoding options (`serving.generator.GENERATION_OPTIONS`)
    written_spacing: bool = False  # a generator's text with punctuation spaced as written ("T-Shirt, 2.5")


@dataclasses.dataclass
class ServingGraph:
    """The two endpoints of one export, with the examples that warm it up by default."""

    serve_text: Callable  # one [batch] string tensor per `text_inputs` spec -> dict of dense outputs
    text_inputs: list  # tf.TensorSpec per argument of `serve_text`, named as the signature's inputs
    from_ids: Callable  # dict of int32 encoder inputs -> dict of dense outputs
    ids_inputs: dict  # tf.TensorSpec per encoder input
    default_warmup: list  # warmup examples, each a dict {input name: string (or list of strings)}
    endpoints: dict = dataclasses.field(default_factory=dict)  # more signatures: name -> (function, input specs)


def text_graph(preprocessor, from_ids, pair=False, limits=ServingLimits()):
    """The `ServingGraph` of a task that reads one text (`text`) or a pair (`text_a`, `text_b`).

    Texts are preprocessed and encoded `limits.encoder_batch_size` at a time (`in_chunks`).
    """
    def serve(texts):
        return from_ids(preprocessor(texts if pair else texts[0]))

    def serve_text(**texts):
        return in_chunks(serve, limits.check_texts(**texts), limits.encoder_batch_size)

    if pair:
        return ServingGraph(
            serve_text=lambda text_a, text_b: serve_text(text_a=text_a, text_b=text_b),
            text_inputs=string_inputs("text_a", "text_b"),
            from_ids=from_ids,
            ids_inputs=ids_inputs(preprocessor.output_names),
            default_warmup=[{"text_a": "A man is playing a guitar.", "text_b": "Someone plays music."}],
        )
    return ServingGraph(
        serve_text=lambda text: serve_text(text=text),
        text_inputs=string_inputs("text"),
        from_ids=from_ids,
        ids_inputs=ids_inputs(preprocessor.output_names),
        default_warmup=[{"text": "This is a short example sentence."}, {"text": ""}],
    )


def string_inputs(*names, shape=(None,)):
    """`tf.TensorSpec`s of string batches, one per signature input name."""
    return [tf.TensorSpec(shape, tf.string, name=name) for name in names]


def ids_inputs(names, shape=(None, None)):
    """`tf.TensorSpec`s of the encoder's int32 inputs `names` (a preprocessor's `output_names`), keyed and
    named as the encoder's."""
    return {name: tf.TensorSpec(shape, tf.int32, name=name) for name in names}


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
