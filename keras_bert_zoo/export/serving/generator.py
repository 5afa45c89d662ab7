"""Serving a `BertEncoderDecoder` (summarizer, translator): text in, generated text out, all in the graph.

The graph tokenizes with the model's preprocessor (truncating to its `sequence_length`, as in training), runs the
encoder and the cached decoding loop (`models.encoder_decoder.generation.generate_ids`), and decodes the ids with
the target tokenizer as transformers' `BertTokenizer.decode(ids, skip_special_tokens=True)` does
(`wordpiece_decoding`). The target tokenizer is the preprocessor's unless the export is given another (a
translator's target vocabulary); its [CLS], [SEP] and [PAD] are the start, end and padding tokens.

Three signatures, since a TF Serving signature has no optional inputs:
- `serving_default`: `text` [batch] string, generated with the options fixed at export (`generation=`);
- `generate`: `text` and every generation option as a scalar input (`GENERATION_OPTIONS`: max_length,
  min_length, num_beams, length_penalty, no_repeat_ngram_size, early_stopping, do_sample, top_k, top_p, seed).
  Scalars do not fit REST's row ("instances") format: call it over gRPC or with REST's columnar format,
  `{"signature_name": "generate", "inputs": {"text": [...], "max_length": 40, ...}}`. Options out of range fail
  with an `InvalidArgument` error naming the option;
- `from_ids`: the encoder's int32 `encoder_token_ids` and `encoder_padding_mask`, with the export's options.

Outputs of all three: `generated_text` [batch] string; `token_ids` [batch, longest] int32, each row the start
token, the generated ids and the end token, padded with [PAD] to the batch's longest (as `model.generate` returns
them); `num_tokens` [batch] int32, the ids of each row that are not padding. An empty batch answers an empty batch;
an empty text is generated from "[CLS] [SEP]"; a text of a million characters is truncated.

Example:
>>> graph = generator_graph(model, preprocessor, generation={"max_length": 32})  # doctest: +SKIP
>>> GENERATION.describe({"generated_text": "a short summary", "token_ids": [101, 1037, 2460, 12654, 102],
...                      "num_tokens": 5})
'a short summary'
"""

import dataclasses

import tensorflow as tf

from keras_bert_zoo.export.serving.graph import (
    OutputSchema,
    ServingGraph,
    ServingLimits,
    TaskServing,
    string_inputs,
)
from keras_bert_zoo.export.serving.wordpiece_decoding import wordpiece_decoder
from keras_bert_zoo.models.encoder_decoder.generation import BOUNDS, DEFAULTS, DTYPES, generate_ids
from keras_bert_zoo.text.tokenizer import BertTokenizer

ENCODER_IDS = ("encoder_token_ids", "encoder_padding_mask")
MAX_NUM_BEAMS = 16  # a request's beams multiply the memory its rows take


@dataclasses.dataclass(frozen=True)
class Option:
    """One generation option: its signature dtype, its default and the range a request's value must be in."""

    dtype: tf.DType
    default: object
    low: float = None  # inclusive bounds (None: unbounded)
    high: float = None
    low_exclusive: bool = False


# Every option of `generate_ids` a caller may set, with its dtype and transformers' default from `generation`, and the
# range a request's value must be in here: `generation.BOUNDS` with a server's caps on beams and length penalty
# (max_length's upper bound is the decoder's positions).
_RANGES = {name: BOUNDS.get(name, (None, None, False))
           for name in ("max_length", "min_length", "num_beams", "length_penalty", "no_repeat_ngram_size",
                        "early_stopping", "do_sample", "top_k", "top_p", "seed")}
_RANGES |= {"num_beams": (1, MAX_NUM_BEAMS, False), "length_penalty": (-1e9, 1e9, False)}
GENERATION_OPTIONS = {name: Option(DTYPES[name], DEFAULTS[name], low, high, low_exclusive=excluded)
                      for name, (low, high, excluded) in _RANGES.items()}


def _bounds(name, option, max_positions):
    high = max_positions if name == "max_length" else option.high
    return option.low, high


def _describe_range(name, option, max_positions):
    low, high = _bounds(name, option, max_positions)
    left = "(" if option.low_exclusive else "["
    return f"{left}{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}]"


def generation_defaults(generation, max_positions):
    """The export's generation options: `GENERATION_OPTIONS`' defaults updated with the dict `generation`,
    checked (unknown names, types, ranges, min_length <= max_length)."""
    generation = dict(generation or {})
    unknown = sorted(set(generation) - set(GENERATION_OPTIONS))
    if unknown:
        raise ValueError(f"Unknown generation options {unknown}: the export takes {', '.join(GENERATION_OPTIONS)}.")
    options = {name: option.default for name, option in GENERATION_OPTIONS.items()} | generation
    for name, value in options.items():
        option = GENERATION_OPTIONS[name]
        kind = bool if option.dtype == tf.bool else int if option.dtype == tf.int32 else (int, float)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(f"generation option {name}={value!r} must be a {option.dtype.name}.")
        low, high = _bounds(name, option, max_positions)
        below = low is not None and (value <= low if option.low_exclusive else value < low)
        if below or (high is not None and value > high):
            raise ValueError(f"generation option {name}={value!r} is outside "
                             f"{_describe_range(name, option, max_positions)}.")
    if options["min_length"] > options["max_length"]:
        raise ValueError(f"generation option min_length={options['min_length']} is above max_length="
                         f"{options['max_length']}.")
    return options


def _checked(options, max_positions):
    """The run-time `options` (scalar tensors), each behind an assert that it is within its range."""
    checks = []
    for name, option in GENERATION_OPTIONS.items():
        low, high = _bounds(name, option, max_positions)
        value = options[name]
        if low is None and high is None:
            continue
        message = tf.strings.format(f"generation option {name} is {{}}; it must be in "
                                    f"{_describe_range(name, option, max_positions)}", [value])
        if low is not None:
            checks.append(tf.debugging.Assert(value > low if option.low_exclusive else value >= low, [message]))
        if high is not None:
            checks.append(tf.debugging.Assert(value <= high, [message]))
    message = tf.strings.format("generation option min_length {} is above max_length {}",
                                [options["min_length"], options["max_length"]])
    checks.append(tf.debugging.Assert(options["min_length"] <= options["max_length"], [message]))
    with tf.control_dependencies(checks):
        return {name: tf.identity(value) for name, value in options.items()}


def target_tokenizer_of(model, preprocessor, target_tokenizer=None):
    """The tokenizer whose vocabulary the decoder writes: `target_tokenizer`, the model's own, or the
    preprocessor's; a `BertTokenizer` the size of the decoder's vocabulary."""
    tokenizer = target_tokenizer or getattr(model, "target_tokenizer", None) or preprocessor.tokenizer
    if not isinstance(tokenizer, BertTokenizer):
        raise TypeError(f"The target tokenizer must be a kbz.BertTokenizer (WordPiece), not a "
                        f"{type(tokenizer).__name__}: the decoder writes WordPiece ids.")
    if tokenizer.vocabulary_size != model.encoder.vocabulary_size:
        raise ValueError(f"The target tokenizer has {tokenizer.vocabulary_size} tokens; the decoder writes "
                         f"{model.encoder.vocabulary_size}: give the target vocabulary the model was trained on.")
    return tokenizer


def row_lengths(ids, end_token_id):
    """Ids of each row up to and including its first `end_token_id` after the start token (all of them without)."""
    ends = tf.equal(ids[:, 1:], end_token_id)
    first_end = tf.argmax(tf.cast(ends, tf.int32), axis=1, output_type=tf.int32) + 2
    return tf.where(tf.reduce_any(ends, axis=1), first_end, tf.shape(ids)[1])


def _in_chunks(run, inputs, chunk_size):
    """`run(inputs)` (ids [rows, max_length]) on `chunk_size` rows at a time (`graph.in_chunks`, without the trace
    it makes to learn the outputs' structure: the decoding loop is the slowest part of an export to trace)."""
    rows = tf.shape(inputs[ENCODER_IDS[0]])[0]
    num_chunks = tf.maximum((rows + chunk_size - 1) // chunk_size, 1)
    array = tf.TensorArray(tf.int32, num_chunks, infer_shape=False, element_shape=[None, None])

    def step(i, array):
        return i + 1, array.write(i, run({name: value[i * chunk_size:(i + 1) * chunk_size]
                                          for name, value in inputs.items()}))

    _, array = tf.while_loop(lambda i, _: i < num_chunks, step, (0, array), parallel_iterations=1)
    return array.concat()


def generator_graph(model, preprocessor, target_tokenizer=None, generation=None, limits=ServingLimits(),
                    written_spacing=False):
    """The `ServingGraph` of `model` (a `BertEncoderDecoder`): `serving_default` and `from_ids` with the options
    `generation` (a dict, see `GENERATION_OPTIONS`), and `generate` taking them (see the module docstring);
    `written_spacing`: punctuation in the text spaced as written (`text.wordpiece_text.space_as_written`)."""
    tokenizer = target_tokenizer_of(model, preprocessor, target_tokenizer)
    max_positions = model.encoder.max_sequence_length
    defaults = generation_defaults(generation, max_positions)
    tokens = {"start_token_id": tokenizer.cls_id, "end_token_id": tokenizer.sep_id, "pad_token_id": tokenizer.pad_id}
    decode = wordpiece_decoder(tokenizer, written_spacing)

    def from_ids(inputs, options):
        def run(rows):
            ids, _ = generate_ids(model, rows[ENCODER_IDS[0]], rows[ENCODER_IDS[1]],
                                             {**options, **{k: tf.constant(v) for k, v in tokens.items()}})
            return ids

        ids = _in_chunks(run, {name: tf.cast(inputs[name], tf.int32) for name in ENCODER_IDS},
                         limits.encoder_batch_size)
        num_tokens = row_lengths(ids, tokens["end_token_id"])
        longest = tf.reduce_max(tf.concat([num_tokens, [0]], axis=0))
        ids = ids[:, :longest]
        return {"generated_text": decode(ids, num_tokens), "token_ids": ids, "num_tokens": num_tokens}

    def from_text(text, options):
        (text,) = limits.check_texts(text=text)
        inputs = preprocessor(text)
        return from_ids({ENCODER_IDS[0]: inputs["token_ids"], ENCODER_IDS[1]: inputs["padding_mask"]}, options)

    def constants():
        return {name: tf.constant(value, GENERATION_OPTIONS[name].dtype) for name, value in defaults.items()}

    option_inputs = [tf.TensorSpec((), option.dtype, name=name) for name, option in GENERATION_OPTIONS.items()]

    def generate(text, *values):
        return from_text(text, _checked(dict(zip(GENERATION_OPTIONS, values)), max_positions))

    return ServingGraph(
        serve_text=lambda text: from_text(text, constants()),
        text_inputs=string_inputs("text"),
        from_ids=lambda inputs: from_ids(inputs, constants()),
        ids_inputs={name: tf.TensorSpec((None, None), tf.int32, name=name) for name in ENCODER_IDS},
        default_warmup=[{"text": "This is a short example sentence."}, {"text": ""}],
        endpoints={"generate": (generate, [*string_inputs("text"), *option_inputs])},
    )


GENERATION = OutputSchema(
    frozenset({"generated_text", "token_ids", "num_tokens"}),
    lambda example: example["generated_text"] or '""',
    counts={"num_tokens": ("token_ids",)},
)

SERVING = TaskServing(
    kind="BertEncoderDecoder",
    graph=lambda model, preprocessor, options, limits: generator_graph(
        model, preprocessor, options.target_tokenizer, options.generation, limits, options.written_spacing),
    schemas=(GENERATION,),
    takes=frozenset({"target_tokenizer", "generation", "written_spacing"}),
)
