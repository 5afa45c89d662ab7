"""Shared test contracts, in the style of keras-hub's TestCase: a tiny vocabulary and models built on it,
and one call per check that a layer, a task model or an export keeps its contract.

Tests import it as conftest is imported (pytest puts tests/ on sys.path): `from helpers import ...`.

- `tiny_vocabulary(*words)`: the special tokens [PAD] [UNK] [CLS] [SEP] [MASK] (ids 0-4), then `words`
  in their order (ids 5, 6, ...); `TINY_WORDS`/`TINY_VOCABULARY` is the default one.
- `tiny_preprocessor(vocabulary=TINY_VOCABULARY, sequence_length=16, **options)`, `tiny_encoder(vocabulary_size=...)`.
- `check_layer(layer, inputs, expected_output_shape)`: call, config and `.keras` round trips, same outputs.
- `check_task(model, inputs)`: the same for a task model, with its preprocessor (vocabulary an asset)
  and options, plus float32 outputs under mixed precision.
- `check_export(model, texts, tmp_path, formats=...)`: SavedModel (TF2 load and TF1 session, both
  signatures, warmup), TFLite and ONNX each answer as the Keras model does.
"""

import dataclasses
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import keras_bert_zoo as kbz
from keras_bert_zoo.training import runs

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
TINY_WORDS = ("a", "good", "bad", "great", "movie", "film", "not", "the", "cat", "sat", "on", "mat", ".")
EXPORT_FORMATS = ("saved_model", "tf1", "tflite", "onnx")
MIXED_PRECISION = ("mixed_float16", "mixed_bfloat16")


def tiny_vocabulary(*words):
    """The five special tokens (ids 0-4 in BERT's order), then `words` in their order."""
    return [*SPECIAL_TOKENS, *words]


TINY_VOCABULARY = tiny_vocabulary(*TINY_WORDS)


def tiny_preprocessor(vocabulary=TINY_VOCABULARY, sequence_length=16, lowercase=True, **options):
    """A `BertPreprocessor` on `vocabulary` (a list of tokens or a file)."""
    return kbz.BertPreprocessor(kbz.BertTokenizer(vocabulary, lowercase=lowercase), sequence_length=sequence_length,
                                **options)


def tiny_encoder(vocabulary_size=len(TINY_VOCABULARY), num_layers=2, num_heads=2, hidden_dim=16,
                 intermediate_dim=32, seed=0, **options):
    """A seeded two-layer `BertEncoder` (options such as max_sequence_length, dropout, dtype pass through)."""
    if seed is not None:
        keras.utils.set_random_seed(seed)
    return kbz.BertEncoder(vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim, **options)


# ---------------------------------------------------------------------------------------------- comparisons


def _numpy(value):
    if isinstance(value, (tf.Tensor, tf.Variable)) or hasattr(value, "numpy"):
        return np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    return np.asarray(keras.ops.convert_to_numpy(value)) if keras.ops.is_tensor(value) else np.asarray(value)


def assert_same(actual, expected, atol=0.0, where="outputs"):
    """`actual` and `expected` (nested dicts, lists and arrays) hold the same values: floats within `atol`
    (exactly when 0), everything else (ints, strings, bytes) equal."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and sorted(actual) == sorted(expected), (where, sorted(actual),
                                                                                  sorted(expected))
        for key in expected:
            assert_same(actual[key], expected[key], atol, f"{where}[{key!r}]")
        return
    if isinstance(expected, (list, tuple)) and any(isinstance(item, (dict, list, tuple)) for item in expected):
        assert len(actual) == len(expected), (where, len(actual), len(expected))
        for index, (a, b) in enumerate(zip(actual, expected)):
            assert_same(a, b, atol, f"{where}[{index}]")
        return
    actual, expected = _numpy(actual), _numpy(expected)
    if expected.dtype.kind == "f" or actual.dtype.kind == "f":
        assert actual.shape == expected.shape, (where, actual.shape, expected.shape)
        if atol:
            np.testing.assert_allclose(actual.astype("float32"), expected.astype("float32"), atol=atol, err_msg=where)
        else:
            np.testing.assert_array_equal(actual, expected, err_msg=where)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=where)


def _output_shapes(outputs):
    if isinstance(outputs, dict):
        return {key: tuple(value.shape) for key, value in outputs.items()}
    return tuple(outputs.shape)


# --------------------------------------------------------------------------------------------- check_layer


def check_layer(layer, inputs, expected_output_shape, atol=0.0):
    """Calls `layer` on `inputs`, checks its output shapes (a tuple, or a dict of them), rebuilds it from
    its config (same config, same weight shapes), and round trips it through a `.keras` file (same class,
    config and outputs). Returns its outputs."""
    outputs = layer(inputs)
    assert _output_shapes(outputs) == expected_output_shape, (_output_shapes(outputs), expected_output_shape)

    config = layer.get_config()
    rebuilt = type(layer).from_config(config)
    rebuilt(inputs)  # builds its weights
    assert rebuilt.get_config() == config
    assert [tuple(w.shape) for w in rebuilt.weights] == [tuple(w.shape) for w in layer.weights]

    loaded = _keras_file_round_trip(layer)
    assert type(loaded) is type(layer)
    assert loaded.get_config() == config
    assert_same(loaded(inputs), outputs, atol, f"reloaded {type(layer).__name__}")
    return outputs


def _keras_file_round_trip(model):
    with tempfile.TemporaryDirectory(prefix="kbz-check-") as folder:
        path = Path(folder) / "model.keras"
        if isinstance(model, keras.Model):
            model.save(path)
            with zipfile.ZipFile(path) as archive:
                _check_vocabulary_is_an_asset(model, archive)
        else:  # a plain layer
            keras.saving.save_model(model, path)
        return keras.saving.load_model(path)


def _check_vocabulary_is_an_asset(model, archive):
    preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is None:
        return
    names = archive.namelist()
    config = archive.read("config.json").decode("utf-8")
    assert any(name.startswith("assets/") and name.endswith("/vocabulary.txt") for name in names), names
    vocabulary = preprocessor.tokenizer.get_vocabulary()
    assert len(config) < 20_000 or len(vocabulary) < 100, "the vocabulary is inside config.json"
    assert '"vocabulary": null' in config.replace(" ", "").replace('":null', '": null'), "vocabulary not an asset"


# ---------------------------------------------------------------------------------------------- check_task


def task_options(model):
    """What a task model carries besides its weights: label names, `pair`, span QA decoding, ..."""
    from keras_bert_zoo.export.serving import ServingOptions

    names = [field.name for field in dataclasses.fields(ServingOptions)]
    return {name: getattr(model, name) for name in names if hasattr(model, name)}


def check_task(model, inputs, atol=0.0, mixed_precision=MIXED_PRECISION):
    """The contract of a task model (or an encoder) on `inputs`:

    - its config rebuilds it (same config, same number of weights);
    - a `.keras` file gives back the same class, config, options (label names, pair, span QA decoding),
      preprocessor (vocabulary, stored as an asset, sequence length, padding) and outputs (within `atol`;
      exactly when 0);
    - rebuilt with each `mixed_precision` dtype policy it computes in half precision and returns float32
      outputs (`check_mixed_precision`).

    Returns the model's outputs."""
    outputs = model(inputs)
    config = model.get_config()
    rebuilt = type(model).from_config(config)
    assert rebuilt.get_config() == config
    assert len(rebuilt.weights) == len(model.weights)

    loaded = _keras_file_round_trip(model)
    assert type(loaded) is type(model)
    assert loaded.get_config() == config
    assert task_options(loaded) == task_options(model)
    if getattr(model, "preprocessor", None) is not None:
        ours, theirs = model.preprocessor, loaded.preprocessor
        assert theirs.tokenizer.get_vocabulary() == ours.tokenizer.get_vocabulary()
        assert (theirs.sequence_length, theirs.padding) == (ours.sequence_length, ours.padding)
    assert_same(loaded(inputs), outputs, atol, f"reloaded {type(model).__name__}")

    for policy in mixed_precision:
        check_mixed_precision(model, inputs, policy)
    return outputs


def _with_float_dtypes(config, policy):
    """`config` with each float dtype policy (the encoder's, which the heads follow) replaced by `policy`."""
    if isinstance(config, dict):
        return {key: policy if key == "dtype" and _is_float_policy(value) else _with_float_dtypes(value, policy)
                for key, value in config.items()}
    if isinstance(config, list):
        return [_with_float_dtypes(value, policy) for value in config]
    return config


def _is_float_policy(value):
    if isinstance(value, dict):
        value = value.get("config", {}).get("name", value.get("name"))
    return isinstance(value, str) and ("float" in value)


def check_mixed_precision(model, inputs, policy):
    """`model` rebuilt from its config with the dtype `policy` (as `BertEncoder(..., dtype=policy)`, whose
    policy its heads follow) keeps float32 variables, computes in half precision and returns float32
    outputs (logits a loss can take); the global dtype policy is left as it was."""
    previous = keras.config.dtype_policy()
    try:
        half = type(model).from_config(_with_float_dtypes(model.get_config(), policy))
        outputs = half(inputs)
        compute = policy.split("_")[1]
        assert any(layer.compute_dtype == compute for layer in half._flatten_layers()), policy
        assert all(w.dtype == "float32" for w in half.weights if "float" in str(w.dtype))  # variables stay float32
        for value in keras.tree.flatten(outputs):
            assert value.dtype == "float32", (policy, value.dtype)
    finally:
        keras.config.set_dtype_policy(previous)


# -------------------------------------------------------------------------------------------- check_export


def text_inputs(texts):
    """`texts` as signature inputs: a list is `text`, a pair of lists `text_a`/`text_b`, a dict as given."""
    if isinstance(texts, dict):
        return {name: list(value) for name, value in texts.items()}
    if isinstance(texts, tuple):
        return {"text_a": list(texts[0]), "text_b": list(texts[1])}
    return {"text": list(texts)}


def keras_reference(model, texts, preprocessor=None, pair=False):
    """What each export should answer, computed with the Keras model (eagerly, through the task's serving
    code): `(serving_default outputs on texts, from_ids outputs on ids, ids)`; ids are None for inputs
    (such as multiple choice) that the preprocessor does not take directly."""
    from keras_bert_zoo.export.saved_model_export import serving_graph
    from keras_bert_zoo.export.serving import model_contract

    preprocessor, options = model_contract(model, preprocessor, pair or isinstance(texts, tuple))
    graph = serving_graph(model, preprocessor, options)
    inputs = text_inputs(texts)
    served = graph.serve_text(*[tf.constant(inputs[spec.name], tf.string) for spec in graph.text_inputs])
    served = {name: _numpy(value) for name, value in served.items()}
    if isinstance(texts, dict):
        return served, None, None
    ids = {name: _numpy(value) for name, value in preprocessor(texts).items()}
    from_ids = {name: _numpy(value) for name, value in graph.from_ids(ids).items()}
    return served, from_ids, ids


def check_export(model, texts, tmp_path, formats=EXPORT_FORMATS, *, preprocessor=None, pair=False, atol=1e-4,
                 **saved_model_options):
    """Exports `model` in each of `formats` under `tmp_path` and checks that each answers `texts` (a list,
    a (texts_a, texts_b) pair, or a dict of signature inputs) as the Keras model does:

    - "saved_model": `kbz.export.saved_model` (with `saved_model_options`); the TF2-loaded
      `serving_default` on texts and `from_ids` on `model.preprocessor(texts)`, through `LocalModel`
      too; the TF Serving warmup file is there;
    - "tf1": the same folder in a TF1 session (`kbz.export.ServedModel`, as TF Serving loads it), both
      signatures, and each warmup request replayed (one answer per example, no NaN);
    - "tflite": `kbz.export.tflite`; the LiteRT runner on raw texts equals `from_ids` (the outputs both
      have), and `TfliteModel` answers as `LocalModel` does (where it has the same outputs: a token
      classifier's answers per wordpiece, which its tests check);
    - "onnx": `kbz.export.onnx`; onnxruntime on ids equals the Keras model's outputs, and `OnnxModel`
      answers as `LocalModel` does (as `serving_default` without a SavedModel).

    Returns `{format: path}` for further checks."""
    from keras_bert_zoo.export.predictions import split_examples
    from keras_bert_zoo.export.saved_model_files import WARMUP_FILE

    served, from_ids, ids = keras_reference(model, texts, preprocessor, pair)
    inputs = text_inputs(texts)
    answers = split_examples(served)  # what a client answers per example; LocalModel's once there is a SavedModel
    paths = {}
    if "saved_model" in formats or "tf1" in formats:
        path = kbz.export.saved_model(model, tmp_path / "saved_model", preprocessor=preprocessor, pair=pair,
                                      **saved_model_options)
        paths["saved_model"] = paths["tf1"] = path
        warmup = path / WARMUP_FILE
        assert warmup.is_file(), f"no warmup requests in {path}"
        if "saved_model" in formats:
            loaded = tf.saved_model.load(str(path))
            signature = loaded.signatures["serving_default"]
            out = signature(**{name: tf.constant(value, tf.string) for name, value in inputs.items()})
            assert_same({k: v.numpy() for k, v in out.items()}, served, atol, "SavedModel serving_default")
            answers = kbz.export.LocalModel(path).predict(inputs)
            assert_same(answers, split_examples(served), atol, "LocalModel")
            if ids is not None:
                out = loaded.signatures["from_ids"](**{k: tf.constant(v, tf.int32) for k, v in ids.items()})
                assert_same({k: v.numpy() for k, v in out.items()}, from_ids, atol, "SavedModel from_ids")
        if "tf1" in formats:
            with kbz.export.ServedModel(path) as session:
                assert_same(session(**{name: np.array(value, object) for name, value in inputs.items()}), served,
                            atol, "TF1 session serving_default")
                if ids is not None:
                    assert_same(session("from_ids", **ids), from_ids, atol, "TF1 session from_ids")
                for request in _warmup_requests(warmup):
                    warm = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
                    out = session(request.model_spec.signature_name, **warm)
                    rows = len(next(iter(warm.values())))
                    assert all(len(value) == rows for value in out.values()), out  # one answer per example
                    assert not any(np.isnan(v).any() for v in out.values() if v.dtype.kind == "f"), out
    if "tflite" in formats:
        path = kbz.export.tflite(model, tmp_path / "model.tflite", preprocessor=preprocessor, pair=pair)
        paths["tflite"] = path
        runner = kbz.export.tflite_interpreter(path).get_signature_runner()
        if "token_ids" in runner.get_input_details():  # ids in (byte-level BPE families), files beside it
            out = runner(**{name: ids[name].astype("int32") for name in runner.get_input_details()})
        else:
            out = runner(**{name: np.array(value, object) for name, value in inputs.items()})
        reference = from_ids if from_ids is not None else served
        common = sorted(set(out) & set(reference))
        assert common, (sorted(out), sorted(reference))
        assert_same({k: out[k] for k in common}, {k: reference[k] for k in common}, atol, "TFLite")
        client = kbz.export.TfliteModel(path).predict(inputs)
        assert len(client) == len(answers)
        if all(sorted(have) == sorted(want) for have, want in zip(client, answers)):  # not a per-wordpiece tagger's
            assert_same(client, answers, atol, "TfliteModel")
    if "onnx" in formats:
        import onnxruntime

        path = kbz.export.onnx(model, tmp_path / "model.onnx", preprocessor=preprocessor, pair=pair)
        paths["onnx"] = path
        if ids is not None:
            session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            names = [output.name for output in session.get_outputs()]
            out = dict(zip(names, session.run(names, {k: v.astype("int32") for k, v in ids.items()})))
            expected = model(ids)
            expected = expected if isinstance(expected, dict) else {"logits": expected}
            assert_same(out, {k: _numpy(v) for k, v in expected.items()}, atol, "onnxruntime")
        assert_same(kbz.export.OnnxModel(path).predict(inputs), answers, atol, "OnnxModel")
    return paths


def _warmup_requests(path):
    from tensorflow_serving.apis import prediction_log_pb2

    requests = [prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request
                for record in tf.data.TFRecordDataset(str(path))]
    assert requests, f"{path} holds no requests"
    return requests


def saved_model_cli_listing(path, names):
    """What `saved_model_cli show --all` (the TF tool serving users run) prints for a SavedModel, after checking
    that it lists both signatures and every one of `names` (inputs and outputs)."""
    cli = Path(sys.executable).with_name("saved_model_cli")
    shown = subprocess.run([cli, "show", "--all", "--dir", path], capture_output=True, text=True, check=True).stdout
    for name in ("serving_default", "from_ids"):
        assert f"signature_def['{name}']" in shown
    for name in names:
        assert f"['{name}']" in shown, name
    return shown


def write_classifier_run(run, vocabulary=TINY_VOCABULARY, **run_info):
    """A finished run folder as a recipe leaves it: `best.keras` (a tiny two-class classifier carrying its
    preprocessor and label names "neg", "pos") and `run.json` (`runs.save_run_info(run, **run_info)`)."""
    keras.utils.set_random_seed(0)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(vocabulary), sequence_length=8)
    model = kbz.BertClassifier(kbz.BertEncoder(len(vocabulary), 1, 2, 8, 16, max_sequence_length=8), num_classes=2,
                               label_names=["neg", "pos"], preprocessor=preprocessor)
    run.mkdir(parents=True)
    model.save(run / "best.keras")
    runs.save_run_info(run, **run_info)


# ------------------------------------------------------------------------------ parity with transformers


def perturbed_hf_model(cls, config, seed=0):
    """A transformers model of class `cls` on `config`, in eval mode, every parameter moved off its special init
    (LayerNorm ones, zero biases) so that each tensor matters."""
    import torch

    torch.manual_seed(seed)
    model = cls(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    return model


def padded_inputs(batch=3, seq=9, vocabulary_size=99, pad_id=0, segments=True, left=False, seed=0):
    """Encoder inputs with a different amount of padding per row (row 0 unpadded), on the right or (`left`) on
    the left, the same tokens either way; padding holds `pad_id` and real tokens never do (RoBERTa counts
    positions from them). `segments` adds BERT's random `segment_ids`."""
    rng = np.random.default_rng(seed)
    lengths = np.maximum(1, seq - np.arange(batch) * max(1, seq // (batch + 1)))
    padding_mask = (np.arange(seq)[None, :] < lengths[:, None]).astype("int32")
    tokens = rng.integers(pad_id + 1, pad_id + vocabulary_size, size=(batch, seq)) % vocabulary_size
    inputs = {"token_ids": np.where(padding_mask == 1, tokens, pad_id).astype("int32"), "padding_mask": padding_mask}
    if segments:
        inputs["segment_ids"] = (rng.integers(0, 2, size=(batch, seq)) * padding_mask).astype("int32")
    if left:  # each row's tokens, in their order, after its padding
        inputs = {key: np.stack([np.roll(row, seq - n) for row, n in zip(value, lengths)])
                  for key, value in inputs.items()}
    return inputs


def torch_inputs(inputs):
    """Our encoder inputs as transformers' keyword arguments."""
    import torch

    names = {"token_ids": "input_ids", "segment_ids": "token_type_ids", "padding_mask": "attention_mask"}
    return {names[key]: torch.tensor(value, dtype=torch.long) for key, value in inputs.items()}


def hf_difference(ours, theirs, inputs):
    """Max abs difference, over every output and real tokens only, between our model and the transformers
    model `theirs` (any family's `...Model`, `...ForMaskedLM`, `...ForPreTraining`, `...ForSequenceClassification`,
    `...ForTokenClassification`, `...ForQuestionAnswering` or `...ForMultipleChoice`) on `inputs`."""
    import torch

    kind = type(theirs).__name__
    mask = inputs["padding_mask"].astype(bool)

    def reference(feed):
        with torch.no_grad():
            return theirs(**torch_inputs(feed))

    def diff(a, b, per_token=False):
        d = np.abs(_numpy(a).astype("float64") - _numpy(b).astype("float64"))
        return d[mask].max() if per_token else d.max()

    if kind.endswith("ForMultipleChoice"):
        stacked = {key: np.stack([value, value[::-1]], axis=1) for key, value in inputs.items()}  # 2 choices
        return diff(ours(stacked), reference(stacked).logits)
    out = reference(inputs)
    if kind.endswith("ForMaskedLM") or kind.endswith("ForPreTraining"):
        positions = np.tile(np.arange(mask.shape[1]), (len(mask), 1)).astype("int32")
        mine = ours({**inputs, "mask_positions": positions})
        if kind.endswith("ForMaskedLM"):
            return diff(mine["mlm_logits"], out.logits, per_token=True)
        return max(diff(mine["mlm_logits"], out.prediction_logits, per_token=True),
                   diff(mine["nsp_logits"], out.seq_relationship_logits))
    mine = ours(inputs)
    if kind.endswith("ForQuestionAnswering"):
        return max(diff(mine[key], getattr(out, key), per_token=True) for key in ("start_logits", "end_logits"))
    if kind.endswith("ForTokenClassification"):
        return diff(mine, out.logits, per_token=True)
    if kind.endswith("ForSequenceClassification"):
        return diff(mine, out.logits)
    return max(diff(mine["sequence_output"], out.last_hidden_state, per_token=True),
               diff(mine["pooled_output"], out.pooler_output))
