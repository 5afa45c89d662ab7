"""GLUE metrics against scikit-learn / scipy, and the Keras metrics against the functions."""

import doctest
import itertools
import json
import math
import os
import subprocess
import sys
import textwrap
import warnings

import keras
import numpy as np
import pytest
import scipy.stats
import sklearn.metrics
import tensorflow as tf

from keras_bert_zoo import metrics
from keras_bert_zoo.metrics import glue
from keras_bert_zoo.metrics.glue import (
    Accuracy,
    BinaryF1,
    MatthewsCorrelation,
    PearsonCorrelation,
    accuracy,
    binary_f1,
    glue_keras_metrics,
    glue_metrics,
    matthews_corrcoef,
    pearson_corrcoef,
    spearman_corrcoef,
)

RNG_SEEDS = range(20)


def _labels(seed, n, num_classes, skew=None):
    rng = np.random.default_rng(seed)
    return rng.choice(num_classes, size=n, p=skew), rng.choice(num_classes, size=n, p=skew)


def test_doctests():
    assert doctest.testmod(glue).failed == 0
    assert doctest.testmod(metrics).failed == 0  # the package docstring


@pytest.mark.filterwarnings("ignore:A single label")
@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_classification_functions_match_sklearn(seed):
    n = 1 + seed * 7
    y_true, y_pred = _labels(seed, n, 2, skew=[0.7, 0.3])
    assert accuracy(y_true, y_pred) == pytest.approx(
        sklearn.metrics.accuracy_score(y_true, y_pred), abs=1e-12
    )
    assert binary_f1(y_true, y_pred) == pytest.approx(
        sklearn.metrics.f1_score(y_true, y_pred, zero_division=0), abs=1e-12
    )
    assert matthews_corrcoef(y_true, y_pred) == pytest.approx(
        sklearn.metrics.matthews_corrcoef(y_true, y_pred), abs=1e-12
    )
    y_true3, y_pred3 = _labels(seed, n, 3)
    assert matthews_corrcoef(y_true3, y_pred3) == pytest.approx(
        sklearn.metrics.matthews_corrcoef(y_true3, y_pred3), abs=1e-12
    )


def test_class_scores_are_reduced_by_argmax():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 3))
    y_true = rng.integers(0, 3, size=50)
    labels = logits.argmax(-1)
    assert accuracy(y_true, logits) == accuracy(y_true, labels)
    assert matthews_corrcoef(y_true, logits) == matthews_corrcoef(y_true, labels)
    assert binary_f1(y_true == 1, logits) == binary_f1(y_true == 1, labels)
    # A trailing dimension of size 1 holds labels, not scores.
    assert accuracy(y_true, labels[:, None]) == accuracy(y_true, labels)


@pytest.mark.parametrize(
    "y_true, y_pred",
    [
        ([1, 1, 1, 1], [1, 1, 1, 1]),  # all one class, all right
        ([0, 0, 0, 0], [0, 1, 0, 1]),  # gold all one class
        ([0, 1, 0, 1], [1, 1, 1, 1]),  # predictions all one class
        ([0, 0, 0], [0, 0, 0]),  # no positives at all: F1 0
        ([1, 0, 1], [0, 1, 0]),  # all wrong
        ([2, 2, 0], [2, 2, 0]),  # no class 1
    ],
)
def test_degenerate_classification(y_true, y_pred):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's undefined-metric warnings
        expected_mcc = sklearn.metrics.matthews_corrcoef(y_true, y_pred)
        expected_f1 = sklearn.metrics.f1_score(y_true, y_pred, labels=[1], average="micro")
    assert matthews_corrcoef(y_true, y_pred) == expected_mcc
    assert binary_f1(y_true, y_pred) == expected_f1
    if len(set(y_true)) == 1 or len(set(y_pred)) == 1:
        assert matthews_corrcoef(y_true, y_pred) == 0.0


def test_length_mismatch_and_empty_raise():
    with pytest.raises(ValueError):
        accuracy([0, 1], [0])
    with pytest.raises(ValueError):
        matthews_corrcoef([], [])
    with pytest.raises(ValueError):
        pearson_corrcoef([1.0], [2.0])


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_correlations_match_scipy(seed):
    rng = np.random.default_rng(seed)
    n = 2 + seed * 5
    x = rng.normal(size=n)
    y = 0.5 * x + rng.normal(size=n)
    # Heavy ties: scores on a 0-5 grid in steps of 0.5, like STS-B labels.
    x_tied, y_tied = np.round(x * 2) / 2, np.round(y * 2) / 2
    for a, b in ((x, y), (x_tied, y_tied), (x_tied, y)):
        if np.all(a == a[0]) or np.all(b == b[0]):
            continue
        assert pearson_corrcoef(a, b) == pytest.approx(scipy.stats.pearsonr(a, b)[0], abs=1e-12)
        assert spearman_corrcoef(a, b) == pytest.approx(
            scipy.stats.spearmanr(a, b)[0], abs=1e-12
        )


def test_average_ranks_of_ties():
    np.testing.assert_array_equal(
        glue._average_ranks(np.array([3.0, 1.0, 3.0, 2.0, 3.0])), [4.0, 1.0, 4.0, 2.0, 4.0]
    )


def test_constant_input_gives_nan_like_scipy():
    x, constant = [1.0, 2.0, 3.0], [0.1, 0.1, 0.1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's ConstantInputWarning
        assert math.isnan(scipy.stats.pearsonr(x, constant)[0])
        assert math.isnan(scipy.stats.spearmanr(x, constant)[0])
    assert math.isnan(pearson_corrcoef(x, constant))
    assert math.isnan(pearson_corrcoef(constant, x))
    assert math.isnan(spearman_corrcoef(x, constant))
    assert math.isnan(spearman_corrcoef([1.0, float("nan"), 2.0], x))


def test_regression_squeezes_trailing_one():
    x = np.array([1.0, 2.0, 4.0, 3.0])
    y = np.array([[1.5], [2.0], [3.0], [3.5]])
    assert pearson_corrcoef(x, y) == pearson_corrcoef(x, y[:, 0])
    assert spearman_corrcoef(x, y) == spearman_corrcoef(x, y[:, 0])


def test_glue_metrics_tasks():
    expected = {
        "cola": ["mcc"],
        "sst2": ["accuracy"],
        "SST-2": ["accuracy"],
        "mrpc": ["accuracy", "f1"],
        "qqp": ["accuracy", "f1"],
        "stsb": ["pearson", "spearman"],
        "STS-B": ["pearson", "spearman"],
        "mnli": ["accuracy"],
        "mnli_mismatched": ["accuracy"],
        "qnli": ["accuracy"],
        "rte": ["accuracy"],
        "wnli": ["accuracy"],
    }
    for task, names in expected.items():
        assert list(glue_metrics(task)) == names
    assert glue_metrics("cola")["mcc"] is matthews_corrcoef
    assert glue_metrics("stsb")["spearman"] is spearman_corrcoef
    assert [m.name for m in glue_keras_metrics("stsb")] == ["pearson"]
    assert glue_keras_metrics("mnli", num_classes=3)[0].name == "accuracy"
    assert glue_keras_metrics("cola")[0].num_classes == 2
    with pytest.raises(ValueError, match="unknown GLUE task"):
        glue_metrics("squad")


def _stream(metric, y_true, y_pred, sample_weight=None, cuts=(3, 10, 11, 40)):
    """Feeds the metric in uneven batches and returns its result as a float."""
    bounds = [0, *[c for c in cuts if c < len(y_true)], len(y_true)]
    for lo, hi in itertools.pairwise(bounds):
        weight = None if sample_weight is None else sample_weight[lo:hi]
        metric.update_state(y_true[lo:hi], y_pred[lo:hi], sample_weight=weight)
    return float(metric.result())


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("dtype, tol", [(None, 1e-6), ("float64", 1e-12)])
def test_keras_classification_metrics_stream_exactly(seed, dtype, tol):
    rng = np.random.default_rng(seed)
    n, num_classes = 64, 2 + seed % 2
    y_true = rng.integers(0, num_classes, size=n)
    logits = rng.normal(size=(n, num_classes)).astype("float32")
    y_pred = logits.argmax(-1)
    cases = [
        (Accuracy(dtype=dtype), accuracy),
        (BinaryF1(dtype=dtype), binary_f1),
        (MatthewsCorrelation(num_classes, dtype=dtype), matthews_corrcoef),
    ]
    for metric, function in cases:
        assert _stream(metric, y_true, logits) == pytest.approx(function(y_true, y_pred), abs=tol)
        metric.reset_state()
        # Labels of shape (n, 1), as Keras may pass them.
        value = _stream(metric, y_true[:, None], y_pred)
        assert value == pytest.approx(function(y_true, y_pred), abs=tol)


# float32 state: weighted sums of 60 values in 5 batches round to ~1e-7 relative.
@pytest.mark.parametrize("dtype, tol", [(None, 1e-6), ("float64", 1e-12)])
def test_keras_classification_sample_weight_matches_sklearn(dtype, tol):
    rng = np.random.default_rng(7)
    y_true, y_pred = rng.integers(0, 2, size=60), rng.integers(0, 2, size=60)
    weight = rng.uniform(0.0, 2.0, size=60)
    pairs = [
        (Accuracy(dtype=dtype), sklearn.metrics.accuracy_score),
        (BinaryF1(dtype=dtype), sklearn.metrics.f1_score),
        (MatthewsCorrelation(dtype=dtype), sklearn.metrics.matthews_corrcoef),
    ]
    for metric, reference in pairs:
        expected = reference(y_true, y_pred, sample_weight=weight)
        assert _stream(metric, y_true, y_pred, weight) == pytest.approx(expected, abs=tol)


def test_keras_degenerate_values():
    assert float(Accuracy().result()) == 0.0
    assert float(BinaryF1().result()) == 0.0
    assert float(MatthewsCorrelation().result()) == 0.0
    assert math.isnan(float(PearsonCorrelation().result()))
    mcc = MatthewsCorrelation()
    mcc.update_state([1, 1, 1], [1, 0, 1])
    assert float(mcc.result()) == 0.0  # gold all one class, as sklearn
    f1 = BinaryF1()
    f1.update_state([0, 0], [0, 0])
    assert float(f1.result()) == 0.0
    pearson = PearsonCorrelation()
    pearson.update_state([1.0, 2.0, 3.0], [0.1, 0.1, 0.1])
    assert math.isnan(float(pearson.result()))  # constant predictions: nan, as the function
    pearson.update_state([4.0], [0.1])
    assert math.isnan(float(pearson.result()))
    pearson.update_state([5.0], [0.2])
    assert not math.isnan(float(pearson.result()))


@pytest.mark.parametrize("seed", range(5))
def test_keras_pearson_streams_exactly(seed):
    rng = np.random.default_rng(seed)
    x = np.round(rng.uniform(0, 5, size=80) * 5) / 5  # STS-B-like labels
    y = (x + rng.normal(size=80)).astype("float32")[:, None]
    expected = pearson_corrcoef(x, y)
    assert _stream(PearsonCorrelation(dtype="float64"), x, y) == pytest.approx(expected, abs=1e-12)
    assert _stream(PearsonCorrelation(), x, y) == pytest.approx(expected, abs=1e-6)
    # Integer weights equal repeating examples.
    repeats = rng.integers(1, 4, size=80)
    weighted = _stream(PearsonCorrelation(dtype="float64"), x, y, repeats.astype("float64"))
    expected = pearson_corrcoef(np.repeat(x, repeats), np.repeat(y[:, 0], repeats))
    assert weighted == pytest.approx(expected, abs=1e-12)


def _all_metrics(dtype=None):
    return [Accuracy(dtype=dtype), BinaryF1(dtype=dtype), MatthewsCorrelation(3, dtype=dtype),
            PearsonCorrelation(dtype=dtype)]


def test_keras_metric_state_is_tpu_safe():
    """TPUs have no float64: neither the state nor a traced update + result may hold one."""
    assert {v.dtype for m in _all_metrics() for v in m.variables} == {"float32"}
    assert {v.dtype for m in _all_metrics("float64") for v in m.variables} == {"float64"}
    for metric, prediction in zip(_all_metrics(), ([None, 3], [None, 3], [None, 3], [None, 1])):
        label = tf.TensorSpec([None], tf.float32 if isinstance(metric, PearsonCorrelation) else tf.int32)

        @tf.function
        def update_and_result(y_true, y_pred, metric=metric):
            metric.update_state(y_true, y_pred)
            return metric.result()

        graph = update_and_result.get_concrete_function(label, tf.TensorSpec(prediction, tf.float32)).graph
        dtypes = {tensor.dtype for op in graph.get_operations() for tensor in op.outputs}
        assert tf.float64 not in dtypes, type(metric).__name__


def _stream_compiled(metric, y_true, y_pred, batch):
    """Feeds len / batch equal batches inside one XLA-compiled loop (the float32 sums TPUs would keep)."""
    y_true, y_pred = (tf.reshape(tf.constant(a), (-1, batch, *a.shape[1:])) for a in (y_true, y_pred))

    @tf.function(jit_compile=True)
    def stream():
        for i in tf.range(tf.shape(y_true)[0]):
            metric.update_state(y_true[i], y_pred[i])
        return metric.result()

    return float(stream())


def test_keras_metrics_stay_exact_over_long_float32_streams():
    rng = np.random.default_rng(3)
    n, batch = 32_000, 32  # 1000 batches
    labels, logits = rng.integers(0, 3, size=n).astype("int32"), rng.normal(size=(n, 3)).astype("float32")
    assert _stream_compiled(MatthewsCorrelation(3), labels, logits, batch) == pytest.approx(
        matthews_corrcoef(labels, logits), abs=1e-6)
    assert _stream_compiled(Accuracy(), labels, logits, batch) == pytest.approx(accuracy(labels, logits), abs=1e-7)
    # A plain float32 running sum of a constant drifts by ~1e-5 of it over 1000 batches: enough to take
    # constant predictions for varying ones. The two-sum state keeps ~1e-7, and Pearson stays within 1e-6.
    x = (np.round(rng.uniform(0, 5, size=n) * 5) / 5).astype("float32")
    y = (x + rng.normal(size=n)).astype("float32")[:, None]
    assert math.isnan(_stream_compiled(PearsonCorrelation(), y[:, 0], np.full_like(y, 0.1), batch))
    value = _stream_compiled(PearsonCorrelation(), x, y, batch)
    assert value == pytest.approx(pearson_corrcoef(x, y), abs=1e-6)


def test_keras_metrics_serialize():
    for metric in (Accuracy(name="acc"), BinaryF1(), MatthewsCorrelation(3), PearsonCorrelation()):
        clone = keras.metrics.deserialize(keras.metrics.serialize(metric))
        assert type(clone) is type(metric)
        assert clone.get_config() == metric.get_config()


def _toy_data(seed=0, n=96):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    labels = (x[:, 0] + 0.5 * rng.normal(size=n) > 0).astype("int32")
    scores = (x[:, 1] + 0.3 * rng.normal(size=n)).astype("float32")
    return x, labels, scores


def test_compile_evaluate_matches_functions():
    x, labels, scores = _toy_data()
    keras.utils.set_random_seed(0)
    classifier = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    classifier.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=glue_keras_metrics("mrpc") + glue_keras_metrics("cola"),
    )
    logs = classifier.evaluate(x, labels, batch_size=10, return_dict=True, verbose=0)
    logits = classifier.predict(x, batch_size=32, verbose=0)
    assert logs["accuracy"] == pytest.approx(accuracy(labels, logits), abs=1e-6)
    assert logs["f1"] == pytest.approx(binary_f1(labels, logits), abs=1e-6)
    assert logs["mcc"] == pytest.approx(matthews_corrcoef(labels, logits), abs=1e-6)

    regressor = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    regressor.compile(loss="mse", metrics=glue_keras_metrics("stsb"))
    logs = regressor.evaluate(x, scores, batch_size=10, return_dict=True, verbose=0)
    predicted = regressor.predict(x, batch_size=32, verbose=0)
    assert logs["pearson"] == pytest.approx(pearson_corrcoef(scores, predicted), abs=1e-6)


# Two logical CPUs must be set before TensorFlow starts, hence a fresh process. It loads
# glue.py by path, needing only keras and numpy (not the rest of the package).
_MIRRORED_SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    spec = importlib.util.spec_from_file_location("glue", sys.argv[1])
    glue = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(glue)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=90)
    logits = rng.normal(size=(90, 2)).astype("float32")
    scores = rng.normal(size=90).astype("float32")
    predicted = (scores + rng.normal(size=90)).astype("float32")[:, None]
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        mcc, pearson = glue.MatthewsCorrelation(), glue.PearsonCorrelation()

    def update(y, logit, score, pred):
        mcc.update_state(y, logit)
        pearson.update_state(score, pred)

    @tf.function
    def step(batch):
        strategy.run(update, args=batch)

    data = tf.data.Dataset.from_tensor_slices((labels, logits, scores, predicted)).batch(16)
    for batch in strategy.experimental_distribute_dataset(data):
        step(batch)
    out = {
        "per_replica_n": [float(n) for n in strategy.experimental_local_results(pearson.totals[0].value)],
        "mcc": float(mcc.result()),
        "mcc_ref": glue.matthews_corrcoef(labels, logits),
        "pearson": float(pearson.result()),
        "pearson_ref": glue.pearson_corrcoef(scores, predicted),
    }
    print("RESULT" + json.dumps(out))
    """
)


def test_keras_metrics_under_mirrored_strategy():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-c", _MIRRORED_SCRIPT, glue.__file__]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, f"exit {run.returncode}:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
    out = json.loads(lines[-1][len("RESULT") :])
    assert out["per_replica_n"] == [45.0, 45.0]  # each replica saw half; results sum them
    assert out["mcc"] == pytest.approx(out["mcc_ref"], abs=1e-6)
    assert out["pearson"] == pytest.approx(out["pearson_ref"], abs=1e-6)
