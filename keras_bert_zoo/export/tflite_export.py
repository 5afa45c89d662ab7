"""TFLite (LiteRT) export: raw strings in, task outputs out, the tokenizer inside the .tflite.

The model is written as a SavedModel (`keras.export.ExportArchive`) and converted with
`tf.lite.TFLiteConverter.from_saved_model` using TFLite builtins only, plus three custom ops that
tensorflow-text ships TFLite kernels for: `FastBertNormalize`, `FastWordpieceTokenizeWithOffsets`
(the tokenizer) and `RaggedTensorToTensor` (the packer's padding). No Select TF op is needed.
(Converting the `tf.function` directly with `from_concrete_functions` keeps Keras 3's variables as
uninitialized resource variables in the .tflite, which then outputs NaN; the SavedModel route
freezes them.) Run the file with `tflite_interpreter`, which registers tensorflow-text's kernels.

Example:
>>> path = tflite(classifier, "sst2.tflite")  # doctest: +SKIP
>>> runner = tflite_interpreter(path).get_signature_runner()  # doctest: +SKIP
>>> runner(text=np.array(["a great movie"], object))["label"]  # doctest: +SKIP
array([b'pos'], dtype=object)
"""

import contextlib
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import InterpreterWithCustomOps, SignatureRunner
from tensorflow_text import tflite_registrar

from keras_bert_zoo import compat
from keras_bert_zoo.export.model_card import card_path, check_facts, model_card
from keras_bert_zoo.export.preprocessing_files import write_preprocessing
from keras_bert_zoo.export.saved_model_files import write_file
from keras_bert_zoo.export.serving import TASKS, ServingOptions, check_options, model_contract, task_serving
from keras_bert_zoo.export.serving.classifier import classifier_label_names
from keras_bert_zoo.models.backbone import quantization_of
from keras_bert_zoo.progress import phase
from keras_bert_zoo.text import BytePairTokenizer

QUANTIZATIONS = (None, "fp16", "dynamic_int8", "int8")
# What "int8" quantizes (int8 weights and activations): dense layers and embedding lookups. The
# rest stays float32: attention matmuls, softmax, LayerNorm, GELU, residual adds, and the
# feed-forward output dense layers, whose inputs (GELU outputs) have outliers that one int8 range
# per tensor cannot hold. Measured on a MiniLM SST-2 classifier, on train sentences (mean change
# of the probabilities against float32: 0.032 with those layers in int8, 0.013 without; the
# other dense layers change little) and on dev (accuracy -1.5 points with them, -0.2 without).
INT8_OPS = ("FULLY_CONNECTED", "GATHER")
INT8_FLOAT_LAYERS = ("feedforward_output_dense",)  # keras-hub TransformerEncoder's name


def tflite(
    task_model, path, quantization=None, representative_texts=None, *, preprocessor=None, pair=False,
    card=None,
):
    """Writes `task_model` with its preprocessor in front as a .tflite file; returns its path.

    The `serving_default` signature takes a 1-D string tensor `text` (`text_a` and `text_b` with
    `pair=True`) of any batch size (a byte-level BPE family's takes the int32 encoder inputs instead, its
    tokenizer files written beside the file: LiteRT has no kernels for the regex ops BPE needs); text
    longer than the preprocessor's `sequence_length` is truncated, as in training. Outputs are those of
    the SavedModel export where the graph allows:
    a `BertClassifier` gives `probabilities`, `label_id` and `label` (the name from `label_names`,
    a string tensor), or `score` when it regresses; a `BertEncoder` gives `pooled_output` and
    `mean_embedding`. A `BertTokenClassifier` gives what the SavedModel's `from_ids` gives, per
    wordpiece (`probabilities`, `tag_id`, `tag`), plus `token_ids`, `token` (the wordpiece's text)
    and `padding_mask` to line them up with the text: the SavedModel's word and entity decoding
    needs `UnicodeTranscode`, which has no TFLite kernel (`file_clients.TfliteModel` groups them into
    entities on the host).

    Args:
        task_model: a `BertClassifier`, `BertTokenClassifier` or `BertEncoder`.
        path: the file to write; it must end in ".tflite".
        quantization: None (float32), "fp16" (float16 weights, float32 compute), "dynamic_int8"
            (int8 weights, activations quantized on the fly) or "int8" (int8 weights and
            activations, ranges calibrated on `representative_texts`, for the dense layers and
            embeddings but the feed-forward output ones; all else stays float32, see
            `INT8_OPS`). Inputs and outputs keep their types in every mode.
        representative_texts: for "int8" only: a few hundred training texts (pairs of texts
            with `pair=True`) the calibration runs through the whole model, tokenizer included.
        preprocessor, pair: for a bare `BertEncoder`, which has neither: its `BertPreprocessor` and
            whether it embeds sentence pairs. A task model brings its own (`BertTask`), with its
            label names for the `label` (`tag`) output (default "0", "1", ...).
        card: facts for the model card written beside the file as `<file name>.README.md`
            (`keras_bert_zoo.export.model_card`): a dict with any of base_model, training_data,
            metrics {name: value}, command.

    Example:
    >>> tflite(classifier, "sst2_int8.tflite", "int8", train_texts[:200])  # doctest: +SKIP
    """
    path = Path(path)
    if path.suffix != ".tflite":
        raise ValueError(f"The TFLite file name must end in '.tflite', got {str(path)!r}.")
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}.")
    if (quantization == "int8") != (representative_texts is not None):
        raise ValueError("quantization='int8' needs representative_texts, and only it uses them.")
    if quantization_of(task_model) is not None:  # the converter fails on its int8 matmul inputs
        raise ValueError(f"{task_model.name} has Keras {quantization_of(task_model)} weights (quantize_int8), which "
                         "the TFLite converter cannot take: export the float model with quantization='dynamic_int8' "
                         "or 'int8' (keras-bert-zoo export --quantization) instead.")
    task = task_serving(task_model)
    if task is None or task.tflite_outputs is None:
        writers = ", a ".join(kind for kind, other in TASKS.items() if other.tflite_outputs)
        raise NotImplementedError(f"No TFLite export for a {type(task_model).__name__}: export a {writers}.")
    preprocessor, options = model_contract(task_model, preprocessor, pair)
    if hasattr(preprocessor.tokenizer, "for_tflite"):  # its ops that LiteRT runs (SentencePiece's Fast kernel)
        preprocessor = preprocessor.with_tokenizer(preprocessor.tokenizer.for_tflite())
    options = check_options(task, ServingOptions(label_names=options.label_names, pair=options.pair))
    outputs = task.tflite_outputs(task_model, options, preprocessor.tokenizer)
    pair = options.pair
    text_names = ("text_a", "text_b") if pair else ("text",)
    # Byte-level BPE splits words with regex ops LiteRT has no kernel for: its .tflite takes ids, and the
    # tokenizer's files go beside it (`preprocessing_files`), as for ONNX.
    ids_in = isinstance(preprocessor.tokenizer, BytePairTokenizer)
    names = preprocessor.output_names if ids_in else text_names
    facts = check_facts(card)
    examples = None
    if quantization == "int8":
        examples = _representative_examples(representative_texts, text_names)
        if ids_in:
            examples = [_ids(preprocessor, example, names) for example in examples]

    def serve(*texts):
        inputs = preprocessor(texts if pair else texts[0])
        if pair and "segment_ids" in inputs:
            # A no-op that keeps the converter from folding Keras's negative-index check on the
            # packer's cast-from-bool segment ids into a bool ZEROS_LIKE, which TFLite lacks.
            inputs["segment_ids"] = inputs["segment_ids"] * inputs["padding_mask"]
        return outputs(inputs)

    def serve_ids(*ids):
        return outputs(dict(zip(names, ids)))

    archive = compat.export_archive()  # each variable stored once
    archive.track(task_model)
    archive.track(preprocessor)
    if ids_in:
        archive.add_endpoint("serving_default", serve_ids,
                             input_signature=[tf.TensorSpec([None, None], tf.int32, name=n) for n in names])
    else:
        archive.add_endpoint(
            "serving_default", serve, input_signature=[tf.TensorSpec([None], tf.string, name=n) for n in names])
    with phase(f"converting to TFLite: {path}"), tempfile.TemporaryDirectory() as saved_model_dir:
        archive.write_out(saved_model_dir, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        converter.allow_custom_ops = True
        with _custom_ops_note(path):
            model = _convert(converter, quantization, examples, names)
    _check_runs(model, names, preprocessor if ids_in else None, text_names)
    text = model_card(
        task_model, "tflite", name=path.stem, input_names=names, facts=facts, pair=pair,
        label_names=classifier_label_names(task_model.num_classes, options.label_names)
        if getattr(task_model, "num_classes", 1) > 1 else None,
        sequence_length=preprocessor.sequence_length, truncate=preprocessor.truncate,
    )
    write_file(path, lambda tmp: tmp.write_bytes(model))
    write_file(card_path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))
    if ids_in:
        write_preprocessing(path, task_model, preprocessor, options)
    return path


def tflite_interpreter(model, num_threads=None):
    """A LiteRT interpreter with tensorflow-text's kernels registered, for a .tflite from `tflite`
    (its path, or its bytes); `num_threads` caps the CPU threads it uses (None: LiteRT's default).
    The .tflite has no request limits: a request too large for memory fails with a RuntimeError
    naming its size, or (with no memory at all left) crashes the process, so bound it before.

    Example:
    >>> runner = tflite_interpreter("sst2.tflite").get_signature_runner()  # doctest: +SKIP
    >>> runner(text=np.array(["a great movie", "dull"], object))["probabilities"].shape  # doctest: +SKIP
    (2, 2)
    """
    source = {"model_content": model} if isinstance(model, bytes) else {"model_path": str(model)}
    return _Interpreter(custom_op_registerers=tflite_registrar.SELECT_TFTEXT_OPS, num_threads=num_threads, **source)


class _Interpreter(InterpreterWithCustomOps):
    """LiteRT's interpreter, whose signature runners name the likely cause of an out-of-memory error."""

    def get_signature_runner(self, signature_key=None):
        return _SignatureRunner(self, compat.signature_key_of(super().get_signature_runner(signature_key)))


class _SignatureRunner(SignatureRunner):
    def __call__(self, **inputs):
        try:
            return super().__call__(**inputs)
        except RuntimeError as error:
            message = str(error).strip()
            # What LiteRT says when an allocation fails: nothing, or that a node failed to prepare.
            if message and (not re.search("alloc|prepare|memory", message, re.IGNORECASE)
                            or "unresolved custom op" in message):
                raise
            sizes = ", ".join(f"{name} {_describe(value)}" for name, value in inputs.items())
            raise RuntimeError(
                f"LiteRT failed ({message or 'no message'}) on a request of {sizes}, most likely out of memory: "
                "send fewer or shorter texts per call."
            ) from error


def _describe(value):
    """An input's shape, and the length of its longest string, in words."""
    value = np.asarray(value)
    if value.dtype != object or not value.size:
        return f"{list(value.shape)}"
    return f"{list(value.shape)} (longest {max(len(v) for v in value.flat):,} characters)"


def _check_runs(model, input_names, preprocessor=None, text_names=()):
    """Runs the .tflite once: `allow_custom_ops` turns any op without a TFLite kernel into a custom
    op that only fails when the model runs, so fail here, naming it, rather than on the device.
    An ids-in model gets what `preprocessor` makes of "a b"."""
    if preprocessor is None:
        inputs = {name: np.array(["a b"], object) for name in input_names}
    else:
        inputs = dict(zip(input_names, _ids(preprocessor, ["a b"] * len(text_names), input_names)))
    try:
        tflite_interpreter(model).get_signature_runner()(**inputs)
    except RuntimeError as error:
        raise RuntimeError(f"The converted model does not run in LiteRT: {error}") from error


def _ids(preprocessor, texts, names):
    """The encoder inputs `names` ([1, sequence] arrays) that `preprocessor` makes of one example's texts."""
    segments = tuple(tf.constant([text]) for text in texts)
    packed = preprocessor(segments if len(segments) == 2 else segments[0])
    return [packed[name].numpy() for name in names]


def _representative_examples(representative_texts, input_names):
    """The calibration examples, each a tuple of one text per signature input."""
    pair = len(input_names) == 2
    examples = [tuple(text) if pair and not isinstance(text, str) else (text,) for text in representative_texts]
    if not examples or any(len(example) != len(input_names) for example in examples):
        what = "(text_a, text_b) pairs" if pair else "strings"
        raise ValueError(f"representative_texts must be a non-empty list of {what}.")
    return examples


# The custom ops of the .tflite, whose TFLite kernels tensorflow-text ships (`tflite_interpreter` registers them).
TFTEXT_OPS = ("FastBertNormalize", "FastWordpieceTokenizeWithOffsets", "RaggedTensorToTensor")
_CUSTOM_OPS_WARNING = "need TFLite custom op implementation(s)"


def _without_custom_ops_warning(log):
    """(`log` without the converter's "need TFLite custom op implementation(s)" warnings about `TFTEXT_OPS`,
    the ops they named). A warning naming any other op, or Flex (Select TF) ops, is kept as it is."""
    lines = log.splitlines(True)
    kept, ops, i = [], [], 0
    while i < len(lines):
        if _CUSTOM_OPS_WARNING in lines[i]:
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("See instructions:")), None)
            block = lines[i : end + 1] if end is not None else []
            named = [op.strip() for line in block if line.startswith("Custom ops:")
                     for op in line[len("Custom ops:"):].split(",")]
            if named and set(named) <= set(TFTEXT_OPS) and not any(line.startswith("Flex ops:") for line in block):
                ops += [op for op in named if op not in ops]
                i = end + 1
                continue
        kept.append(lines[i])
        i += 1
    return "".join(kept), ops


@contextlib.contextmanager
def _custom_ops_note(path):
    """Replaces the converter's multi-line warning that tensorflow-text's ops "need TFLite custom op
    implementation(s)" (expected: they are the tokenizer) with one line saying how to run the file.

    The warning is a C++ log line on file descriptor 2 (hidden anyway under TF_CPP_MIN_LOG_LEVEL=2, as in
    the CLI); everything else written there meanwhile is written back.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):  # no stderr to tidy up
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept, ops = _without_custom_ops_warning(captured.read().decode(errors="replace"))
            if ops:
                kept += (f"note: {Path(path).name} uses the TFLite custom ops {', '.join(ops)}, whose kernels "
                         f"tensorflow-text ships: run it with kbz.export.tflite_interpreter({str(path)!r}).\n")
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def _convert(converter, quantization, examples, input_names):
    """Runs the converter; returns the .tflite bytes."""
    if quantization is None:
        return converter.convert()
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    if quantization != "int8":
        return converter.convert()
    converter.representative_dataset = lambda: (
        {name: value if isinstance(value, np.ndarray) else np.array([value], object)  # ids, or a text
         for name, value in zip(input_names, example)} for example in examples
    )
    # Calibration runs the float model, tokenizer included, in TF's own interpreter; the only way to
    # give it tensorflow-text's kernels is this private attribute of the target spec.
    compat.set_calibration_custom_ops(converter, tflite_registrar.SELECT_TFTEXT_OPS)
    # The converter quantizes every op it can; choosing which needs its calibrate-only mode and the
    # quantizer it then calls (both private, as the public QuantizationDebugger that wraps them
    # cannot load custom ops).
    compat.set_calibrate_only(converter)
    calibrated = converter.convert()
    interpreter = tflite_interpreter(calibrated)
    float_nodes = [
        t["name"] for t in interpreter.get_tensor_details() if any(layer in t["name"] for layer in INT8_FLOAT_LAYERS)
    ]
    if not float_nodes:
        raise RuntimeError(f"No tensor of the layers {INT8_FLOAT_LAYERS} to keep in float32: were they renamed?")
    op_types = {op["op_name"] for op in compat.tflite_ops_details(interpreter)}
    return compat.mlir_quantize(
        calibrated,
        fully_quantize=False,  # string inputs and float outputs stay as they are
        denylisted_ops=sorted(op_types - set(INT8_OPS)),
        denylisted_nodes=float_nodes,
    )
