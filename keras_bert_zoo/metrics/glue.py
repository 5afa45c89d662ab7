"""GLUE metrics: post-hoc functions on numpy arrays and streaming Keras metrics.

The functions take labels (or class scores of shape `(n, C)`, reduced by argmax) and
agree with scikit-learn / scipy. The Keras metrics accumulate counts or sums in state
variables that Keras sums across replicas under `tf.distribute`, so fed batch by batch
they give the post-hoc value on the concatenated data. Their state is float32, which
TPUs support (they have no float64): counts are exact up to 2**24 (16.7M) examples, so
unweighted accuracy, F1 and MCC stay exact on any GLUE set; with float `sample_weight`
their sums drift by at most (number of batches) * 6e-8 relative. Pearson's sums keep
their rounding error (see `PearsonCorrelation`). Give `dtype="float64"` for float64
state on CPU/GPU.

Spearman correlation needs every value to rank, which has no exact streaming form:
it is offered post-hoc only (`spearman_corrcoef`).

>>> glue_metrics("mrpc")["f1"]([1, 0, 1, 1], [1, 0, 0, 1])
0.8
"""

import keras
import numpy as np
from keras import ops

# Sum-based variances at most this fraction of mean(x**2) count as zero (constant input): the sums
# of a constant leave about 2 * 2**-24 of it in float32.
_CONSTANT_RTOL = {"float32": 1e-5, "float64": 1e-12}


def _class_ids(y_pred):
    """Numpy labels from labels or class scores `(n, C)`, C > 1 (argmax)."""
    y_pred = np.asarray(y_pred)
    if y_pred.ndim >= 2 and y_pred.shape[-1] > 1:
        return np.argmax(y_pred, axis=-1).reshape(-1)
    return y_pred.reshape(-1)


def _paired(y_true, y_pred, minimum=1):
    """Flattens a pair of arrays and checks they are equally long and long enough."""
    y_true, y_pred = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} labels but {len(y_pred)} predictions")
    if len(y_true) < minimum:
        raise ValueError(f"need at least {minimum} examples, got {len(y_true)}")
    return y_true, y_pred


def accuracy(y_true, y_pred):
    """Fraction of predictions equal to the label.

    >>> accuracy([0, 1, 2], [[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.5, 0.2, 0.3]])
    0.6666666666666666
    """
    y_true, y_pred = _paired(y_true, _class_ids(y_pred))
    return float(np.mean(y_true == y_pred))


def binary_f1(y_true, y_pred):
    """F1 of the positive class 1; 0.0 when there are no true or predicted positives.

    >>> binary_f1([1, 1, 0, 0], [1, 0, 1, 0])
    0.5
    """
    y_true, y_pred = _paired(y_true, _class_ids(y_pred))
    tp = np.sum((y_true == 1) & (y_pred == 1))
    wrong = np.sum((y_true == 1) != (y_pred == 1))
    return float(2 * tp / (2 * tp + wrong)) if tp else 0.0


def _mcc_from_confusion(matrix):
    """Multiclass Matthews correlation of a confusion matrix (rows: true); 0 if undefined."""
    n = matrix.sum()
    true_counts, pred_counts = matrix.sum(axis=1), matrix.sum(axis=0)
    cov_tp = np.trace(matrix) * n - true_counts @ pred_counts
    cov_tt = n * n - true_counts @ true_counts
    cov_pp = n * n - pred_counts @ pred_counts
    return float(cov_tp / np.sqrt(cov_tt * cov_pp)) if cov_tt * cov_pp > 0 else 0.0


def matthews_corrcoef(y_true, y_pred):
    """Matthews correlation (multiclass form); 0.0 when all labels or predictions agree.

    >>> matthews_corrcoef([1, 1, 0, 0], [1, 0, 0, 0])
    0.5773502691896258
    """
    y_true, y_pred = _paired(y_true, _class_ids(y_pred))
    classes, ids = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)
    matrix = np.zeros((len(classes), len(classes)))
    np.add.at(matrix, (ids[: len(y_true)], ids[len(y_true) :]), 1)
    return _mcc_from_confusion(matrix)


def _regression(y):
    """Scores as float64, a trailing dimension of size 1 squeezed."""
    y = np.asarray(y, dtype=np.float64)
    return y[..., 0] if y.ndim > 1 and y.shape[-1] == 1 else y


def pearson_corrcoef(y_true, y_pred):
    """Pearson correlation; nan when either input is constant (as scipy returns).

    >>> pearson_corrcoef([1.0, 2.0, 3.0], [2.0, 4.0, 7.0])
    0.9933992677987828
    """
    x, y = _paired(_regression(y_true), _regression(y_pred), minimum=2)
    if np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan")
    x, y = x - x.mean(), y - y.mean()
    return float(np.clip(x @ y / np.sqrt((x @ x) * (y @ y)), -1.0, 1.0))


def _average_ranks(x):
    """1-based ranks, tied values sharing the mean of their ranks."""
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x))
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def spearman_corrcoef(y_true, y_pred):
    """Spearman correlation (Pearson of average ranks); nan for constant or nan input.

    Post-hoc only: ranks need all values, so there is no exact streaming Keras metric.

    >>> spearman_corrcoef([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 3.0, 10.0])
    0.9486832980505138
    """
    x, y = _paired(_regression(y_true), _regression(y_pred), minimum=2)
    if np.isnan(x).any() or np.isnan(y).any():
        return float("nan")
    return pearson_corrcoef(_average_ranks(x), _average_ranks(y))


_TASK_METRICS = {
    "cola": ("mcc",),
    "sst2": ("accuracy",),
    "mrpc": ("accuracy", "f1"),
    "qqp": ("accuracy", "f1"),
    "stsb": ("pearson", "spearman"),
    "mnli": ("accuracy",),
    "mnlimatched": ("accuracy",),
    "mnlimismatched": ("accuracy",),
    "qnli": ("accuracy",),
    "rte": ("accuracy",),
    "wnli": ("accuracy",),
    "ax": ("mcc",),
}
_FUNCTIONS = {
    "accuracy": accuracy,
    "f1": binary_f1,
    "mcc": matthews_corrcoef,
    "pearson": pearson_corrcoef,
    "spearman": spearman_corrcoef,
}


def _task_metric_names(task):
    key = task.lower().replace("-", "").replace("_", "")
    if key not in _TASK_METRICS:
        raise ValueError(f"unknown GLUE task {task!r}; expected one of {sorted(_TASK_METRICS)}")
    return _TASK_METRICS[key]


def glue_metrics(task):
    """Maps a GLUE task name ("cola", "SST-2", "mnli_mismatched", ...) to {name: function}.

    >>> sorted(glue_metrics("stsb"))
    ['pearson', 'spearman']
    """
    return {name: _FUNCTIONS[name] for name in _task_metric_names(task)}


def glue_keras_metrics(task, num_classes=2):
    """Keras metrics for `model.compile(metrics=...)` on a GLUE task (STS-B: Pearson only).

    >>> [m.name for m in glue_keras_metrics("qqp")]
    ['accuracy', 'f1']
    """
    makers = {
        "accuracy": lambda: Accuracy(name="accuracy"),
        "f1": lambda: BinaryF1(name="f1"),
        "mcc": lambda: MatthewsCorrelation(num_classes, name="mcc"),
        "pearson": lambda: PearsonCorrelation(name="pearson"),
    }
    return [makers[name]() for name in _task_metric_names(task) if name in makers]


def _ops_class_ids(y_pred):
    """Tensor labels from labels or class scores `(..., C)`, C > 1 (argmax), flattened."""
    if len(y_pred.shape) >= 2 and y_pred.shape[-1] is not None and y_pred.shape[-1] > 1:
        y_pred = ops.argmax(y_pred, axis=-1)
    return ops.reshape(ops.cast(y_pred, "int32"), (-1,))


def _ops_regression(y, dtype):
    """Tensor scores as `dtype`, a trailing dimension of size 1 squeezed, flattened."""
    if len(y.shape) >= 2 and y.shape[-1] == 1:
        y = ops.squeeze(y, axis=-1)
    return ops.reshape(ops.cast(y, dtype), (-1,))


def _ops_weights(sample_weight, like, dtype):
    """Per-example `dtype` weights shaped like the flat tensor `like` (ones if None)."""
    if sample_weight is None:
        return ops.ones_like(like, dtype=dtype)
    return ops.reshape(ops.cast(sample_weight, dtype), (-1,)) + ops.zeros_like(like, dtype=dtype)


class _StreamingMetric(keras.metrics.Metric):
    """Base: zero-initialised state variables (Keras sums them across replicas).

    Float32 (TPU-safe) unless the metric's dtype is float64; lower float types would lose counts.
    """

    @property
    def state_dtype(self):
        return "float64" if self.dtype == "float64" else "float32"

    def _state(self, name, shape=()):
        return self.add_variable(shape, "zeros", dtype=self.state_dtype, name=name)


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class Accuracy(_StreamingMetric):
    """Streaming accuracy from labels or class scores (argmax); 0 before any update.

    >>> m = Accuracy()
    >>> m.update_state([0, 1], [[2.0, 1.0], [3.0, 0.0]])
    >>> float(m.result())
    0.5
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.correct = self._state("correct")
        self.total = self._state("total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.reshape(ops.cast(ops.convert_to_tensor(y_true), "int32"), (-1,))
        y_pred = _ops_class_ids(ops.convert_to_tensor(y_pred))
        weights = _ops_weights(sample_weight, y_true, self.state_dtype)
        hits = ops.cast(ops.equal(y_true, y_pred), self.state_dtype)
        self.correct.assign_add(ops.sum(hits * weights))
        self.total.assign_add(ops.sum(weights))

    def result(self):
        return ops.cast(ops.divide_no_nan(self.correct, self.total), self.dtype)


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BinaryF1(_StreamingMetric):
    """Streaming F1 of the positive class 1 from labels or class scores (argmax).

    >>> m = BinaryF1()
    >>> m.update_state([1, 1, 0, 0], [1, 0, 1, 0])
    >>> float(m.result())
    0.5
    """

    def __init__(self, name="f1", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.true_positives = self._state("true_positives")
        self.errors = self._state("errors")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.reshape(ops.equal(ops.cast(ops.convert_to_tensor(y_true), "int32"), 1), (-1,))
        y_pred = ops.equal(_ops_class_ids(ops.convert_to_tensor(y_pred)), 1)
        weights = _ops_weights(sample_weight, y_true, self.state_dtype)
        both = ops.cast(ops.logical_and(y_true, y_pred), self.state_dtype)
        differ = ops.cast(ops.not_equal(y_true, y_pred), self.state_dtype)
        self.true_positives.assign_add(ops.sum(both * weights))
        self.errors.assign_add(ops.sum(differ * weights))

    def result(self):
        tp = self.true_positives
        return ops.cast(ops.divide_no_nan(2 * tp, 2 * tp + self.errors), self.dtype)


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class MatthewsCorrelation(_StreamingMetric):
    """Streaming Matthews correlation over `num_classes` classes (labels outside are ignored).

    >>> m = MatthewsCorrelation(num_classes=2)
    >>> m.update_state([1, 1], [[0.0, 1.0], [1.0, 0.0]])
    >>> m.update_state([0, 0], [0, 0])
    >>> round(float(m.result()), 6)
    0.57735
    """

    def __init__(self, num_classes=2, name="mcc", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = num_classes
        self.confusion = self._state("confusion", (num_classes, num_classes))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.reshape(ops.cast(ops.convert_to_tensor(y_true), "int32"), (-1,))
        y_pred = _ops_class_ids(ops.convert_to_tensor(y_pred))
        weights = _ops_weights(sample_weight, y_true, self.state_dtype)
        true_hot = ops.one_hot(y_true, self.num_classes, dtype=self.state_dtype) * weights[:, None]
        pred_hot = ops.one_hot(y_pred, self.num_classes, dtype=self.state_dtype)
        # Products and a sum, not a matmul: TPUs (and GPUs with TF32) round matmul inputs, and with them weights.
        self.confusion.assign_add(ops.sum(true_hot[:, :, None] * pred_hot[:, None, :], axis=0))

    def result(self):
        # Fractions of all examples keep every term at most 1 (n**4 would leave float32's exact range).
        matrix = ops.divide_no_nan(self.confusion, ops.sum(self.confusion))
        true_counts, pred_counts = ops.sum(matrix, axis=1), ops.sum(matrix, axis=0)
        cov_tp = ops.trace(matrix) - ops.sum(true_counts * pred_counts)
        cov_tt = 1.0 - ops.sum(true_counts * true_counts)
        cov_pp = 1.0 - ops.sum(pred_counts * pred_counts)
        denominator = ops.sqrt(ops.maximum(cov_tt * cov_pp, 0.0))
        return ops.cast(ops.divide_no_nan(cov_tp, denominator), self.dtype)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


def _add_two_sum(total, error, value):
    """total += value, adding what float rounding lost to `error` (Knuth's two-sum): the sum is total + error.

    Written by hand: a plain float32 running sum drifts by up to (number of batches) * 6e-8 of itself.
    """
    new_total = total + value
    carried = new_total - total
    error.assign_add((total - (new_total - carried)) + (value - carried))
    total.assign(new_total)


_PEARSON_SUMS = ("n", "sum_x", "sum_y", "sum_xx", "sum_yy", "sum_xy")


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class PearsonCorrelation(_StreamingMetric):
    """Streaming Pearson correlation from running sums; nan while either side is constant.

    Scores of shape `(n,)` or `(n, 1)`. Variances below 1e-5 (float32 state; 1e-12 with
    `dtype="float64"`) of the mean square count as constant. Each sum keeps its float32 rounding
    error (two-sum), so its relative error stays near 2**-24 however many batches stream in; the
    variances `mean(x**2) - mean(x)**2` then cancel it up by k = mean(x**2) / var(x), and
    |error| <~ 4 * 2**-24 * (k_x + k_y): about 1e-6 for STS-B-like scores (k ~ 4; measured 2.4e-7),
    worse for scores far from 0 next to their spread (center those, or use float64 off TPU).
    Spearman has no streaming form: use `spearman_corrcoef`.

    >>> m = PearsonCorrelation()
    >>> m.update_state([1.0, 2.0], [[2.0], [4.0]])
    >>> m.update_state([3.0], [[7.0]])
    >>> round(float(m.result()), 6)
    0.993399
    """

    def __init__(self, name="pearson", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.totals = [self._state(name) for name in _PEARSON_SUMS]
        self.errors = [self._state(f"{name}_error") for name in _PEARSON_SUMS]

    def update_state(self, y_true, y_pred, sample_weight=None):
        x = _ops_regression(ops.convert_to_tensor(y_true), self.state_dtype)
        y = _ops_regression(ops.convert_to_tensor(y_pred), self.state_dtype)
        weights = _ops_weights(sample_weight, x, self.state_dtype)
        values = (weights, weights * x, weights * y, weights * x * x, weights * y * y, weights * x * y)
        for total, error, value in zip(self.totals, self.errors, values):
            _add_two_sum(total, error, ops.sum(value))

    def result(self):
        n, *sums = (ops.add(total, error) for total, error in zip(self.totals, self.errors))
        mean_x, mean_y, mean_xx, mean_yy, mean_xy = (ops.divide_no_nan(total, n) for total in sums)
        var_x, var_y = mean_xx - mean_x * mean_x, mean_yy - mean_y * mean_y
        rtol = _CONSTANT_RTOL[self.state_dtype]
        constant = ops.logical_or(var_x <= rtol * mean_xx, var_y <= rtol * mean_yy)
        safe = ops.where(constant, 1.0, var_x * var_y)
        value = ops.where(constant, float("nan"), ops.clip((mean_xy - mean_x * mean_y) / ops.sqrt(safe), -1.0, 1.0))
        return ops.cast(value, self.dtype)
