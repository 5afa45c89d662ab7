"""Generation for `BertEncoderDecoder`: the options, their checks, and the choice of search.

`generate_ids(model, encoder_token_ids, encoder_padding_mask, options)` is what `model.generate` and the exported
SavedModel call. `options` holds every name of `DEFAULTS` plus `start_token_id` and `end_token_id`; each value is
a Python number or a scalar tensor known only at run time (int32; float32 `length_penalty` and `top_p`; bool
`early_stopping` and `do_sample`), so one traced graph serves every setting: `num_beams` 1 runs
`greedy_search` (greedy, or sampling with `do_sample`), more runs `beam_search`. It returns (ids [batch,
max_length] int32 padded with `pad_token_id`, length: an int32 scalar, how many columns are real). XLA
(`jit_compile=True`) needs `max_length` and `num_beams` as Python numbers: they set the shapes.

Bad options are named: a `ValueError` for Python values, an `InvalidArgumentError` at run time for tensors.

Example:
>>> import numpy as np, keras_bert_zoo as kbz
>>> model = kbz.BertEncoderDecoder(kbz.BertEncoder(100, 2, 2, 32, 64))
>>> ids, mask = np.ones((2, 7), "int32"), np.ones((2, 7), "int32")
>>> options = options_with_defaults(max_length=6, num_beams=2, start_token_id=2, end_token_id=3)
>>> tuple(generate_ids(model, ids, mask, options)[0].shape)
(2, 6)
>>> generate_ids(model, ids, mask, {**options, "top_p": 0.0})
Traceback (most recent call last):
...
ValueError: generate: top_p=0.0 must be in (0, 1].
"""

import math

import tensorflow as tf  # options as run-time tensors (the SavedModel's inputs)

from keras_bert_zoo.models.encoder_decoder import decoding_step
from keras_bert_zoo.models.encoder_decoder.beam_search import beam_search
from keras_bert_zoo.models.encoder_decoder.greedy_search import greedy_search

# name -> default, as transformers' GenerationConfig has them (top_k 50 applies only with do_sample).
DEFAULTS = dict(max_length=20, min_length=0, num_beams=1, length_penalty=1.0, no_repeat_ngram_size=0,
                early_stopping=False, do_sample=False, top_k=50, top_p=1.0, seed=0, pad_token_id=0)
TOKENS = ("start_token_id", "end_token_id", "pad_token_id")
DTYPES = {**{name: tf.int32 for name in (*DEFAULTS, *TOKENS)}, "length_penalty": tf.float32, "top_p": tf.float32,
          "early_stopping": tf.bool, "do_sample": tf.bool}
SHAPE_OPTIONS = ("max_length", "num_beams")  # XLA needs them as Python numbers
# The range of each bounded option: (lowest, highest, lowest excluded); None: no bound. max_length's highest is
# the decoder's positions and min_length's is max_length (checked with them); the export adds its serving caps.
BOUNDS = {"max_length": (2, None, False), "min_length": (0, None, False), "num_beams": (1, None, False),
          "no_repeat_ngram_size": (0, None, False), "top_k": (0, None, False), "top_p": (0, 1, True)}
_HINTS = {"no_repeat_ngram_size": " (0: no n-gram blocking)", "top_k": " (0: no top-k filtering)"}


def options_with_defaults(**options):
    """`options` completed with `DEFAULTS`; a name generation does not know, or a missing token id, is an error."""
    unknown = set(options) - set(DTYPES)
    if unknown:
        raise TypeError(f"generate: unknown option {', '.join(sorted(unknown))}; the options are "
                        f"{', '.join(sorted(DTYPES))}.")
    missing = [name for name in TOKENS if name not in options and name not in DEFAULTS]
    if missing:
        raise TypeError(f"generate: {', '.join(missing)} is needed.")
    return {**DEFAULTS, **options}


def _bounded(value, low, high, low_excluded, shown_high):
    """(holds, what it must be) of `value` in the range (`low`, `high`, `low_excluded`); `shown_high`: how the
    message names `high`."""
    above = value > low if low_excluded else value >= low
    if high is None:
        return above, f"must be >= {low}"
    return above & (value <= high), f"must be in {'(' if low_excluded else '['}{low}, {shown_high}]"


def _rules(options, positions, vocabulary_size):
    """(name, holds, what it must be) of every option."""
    o = options
    highs = {"max_length": (positions, positions), "min_length": (o["max_length"], "max_length")}  # (value, shown)
    hints = {**_HINTS, "max_length": f": it counts the start token and the decoder has {positions} positions"}
    rules = []
    for name, (low, high, low_excluded) in BOUNDS.items():
        high, shown = highs.get(name, (high, high))
        holds, requirement = _bounded(o[name], low, high, low_excluded, shown)
        rules.append((name, holds, requirement + hints.get(name, "")))
    rules += [(name, (o[name] >= 0) & (o[name] < vocabulary_size), f"must be a token id in [0, {vocabulary_size})")
              for name in TOKENS]
    return rules


def check_options(options, positions, vocabulary_size):
    """Raises a `ValueError` naming the first bad option among Python values; returns the run-time checks
    (`tf.debugging.Assert` ops) of those that are tensors."""
    checks = []
    for name, holds, requirement in _rules(options, positions, vocabulary_size):
        if isinstance(holds, bool):
            if not holds:
                raise ValueError(f"generate: {name}={options[name]!r} {requirement}.")
        else:
            checks.append(tf.debugging.Assert(holds, [f"generate: {name} {requirement}; it is", options[name]]))
    penalty = options["length_penalty"]
    if isinstance(penalty, (int, float)) and not math.isfinite(penalty):
        raise ValueError(f"generate: length_penalty={penalty} must be a finite number.")
    return checks


def generate_ids(model, encoder_token_ids, encoder_padding_mask, options):
    """(ids [batch, max_length] int32 padded with `pad_token_id`, length int32): see the module's docstring."""
    options = {name: value if isinstance(value, (bool, int, float)) else tf.cast(value, DTYPES[name])
               for name, value in options_with_defaults(**options).items()}
    checks = check_options(options, model.encoder.max_sequence_length, model.encoder.vocabulary_size)
    with tf.control_dependencies(checks):
        encoder_token_ids = tf.identity(tf.cast(encoder_token_ids, tf.int32))
    return decoding_step.branch(
        options["num_beams"] > 1,
        lambda: beam_search(model, encoder_token_ids, encoder_padding_mask, options),
        lambda: greedy_search(model, encoder_token_ids, encoder_padding_mask, options))


def compiled(model, static, jit_compile=False):
    """`generate_ids` as one `tf.function` of (encoder_token_ids, encoder_padding_mask, {option: scalar tensor})
    with the options of `static` ({name: Python value}: the shapes, and `do_sample`) fixed: traced once for
    them, every other option a run-time input."""
    run_time = {name: tf.TensorSpec((), dtype) for name, dtype in DTYPES.items() if name not in static}
    ids = tf.TensorSpec((None, None), tf.int32)

    def generate(encoder_token_ids, encoder_padding_mask, values):
        return generate_ids(model, encoder_token_ids, encoder_padding_mask, {**values, **static})

    return tf.function(generate, input_signature=[ids, ids, run_time], jit_compile=jit_compile)
