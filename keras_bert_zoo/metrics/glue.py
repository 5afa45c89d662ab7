"""GLUE metrics: post-hoc functions on numpy arrays and streaming Keras metrics.

The functions take labels (or class scores of shape `(n, C)`, reduced by argmax) and
agree with scikit-learn / scipy. The Keras metrics accumulate counts or sums in
float64 state variables (summed across replicas under `tf.distribute`; float64 rules
out TPUs), so fed batch by batch they equal the post-hoc value on the concatenated data.

Spearman correlation needs every value to rank, which has no exact streaming form:
it is offered post-hoc only (`spearman_corrcoef`).

>>> glue_metrics("mrpc")["f1"]([1, 0, 1, 1], [1, 0, 0, 1])
0.8
"""

import keras
import numpy as np
from keras import ops

_STATE_DTYPE = "float64"
# Sum-based variances at most this fraction of n * sum(x**2) count as zero (constant input).
_CONSTANT_RTOL = 1e-12


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


def _ops_regression(y):
    """Tensor scores as float64, a trailing dimension of size 1 squeezed, flattened."""
    if len(y.shape) >= 2 and y.shape[-1] == 1:
        y = ops.squeeze(y, axis=-1)
    return ops.reshape(ops.cast(y, _STATE_DTYPE), (-1,))


def _ops_weights(sample_weight, like):
    """Per-example float64 weights shaped like the flat tensor `like` (ones if None)."""
    if sample_weight is None:
        return ops.ones_like(like, dtype=_STATE_DTYPE)
    return ops.reshape(ops.cast(sample_weight, _STATE_DTYPE), (-1,)) + ops.zeros_like(
        like, dtype=_STATE_DTYPE
    )


class _StreamingMetric(keras.metrics.Metric):
    """Base: zero-initialised float64 state variables (Keras sums them across replicas)."""

    def _state(self, name, shape=()):
        return self.add_variable(shape, "zeros", dtype=_STATE_DTYPE, name=name)


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
        weights = _ops_weights(sample_weight, y_true)
        hits = ops.cast(ops.equal(y_true, y_pred), _STATE_DTYPE)
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
        weights = _ops_weights(sample_weight, y_true)
        both = ops.cast(ops.logical_and(y_true, y_pred), _STATE_DTYPE)
        differ = ops.cast(ops.not_equal(y_true, y_pred), _STATE_DTYPE)
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
        weights = _ops_weights(sample_weight, y_true)
        true_hot = ops.one_hot(y_true, self.num_classes, dtype=_STATE_DTYPE)
        pred_hot = ops.one_hot(y_pred, self.num_classes, dtype=_STATE_DTYPE)
        self.confusion.assign_add(ops.matmul(ops.transpose(true_hot * weights[:, None]), pred_hot))

    def result(self):
        matrix = ops.convert_to_tensor(self.confusion)
        n = ops.sum(matrix)
        true_counts, pred_counts = ops.sum(matrix, axis=1), ops.sum(matrix, axis=0)
        cov_tp = ops.trace(matrix) * n - ops.sum(true_counts * pred_counts)
        cov_tt = n * n - ops.sum(true_counts * true_counts)
        cov_pp = n * n - ops.sum(pred_counts * pred_counts)
        denominator = ops.sqrt(ops.maximum(cov_tt * cov_pp, 0.0))
        return ops.cast(ops.divide_no_nan(cov_tp, denominator), self.dtype)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class PearsonCorrelation(_StreamingMetric):
    """Streaming Pearson correlation from running sums; nan while either side is constant.

    Scores of shape `(n,)` or `(n, 1)`. Variances below 1e-12 of the mean square
    (relative) count as constant. Spearman has no streaming form: use `spearman_corrcoef`.

    >>> m = PearsonCorrelation()
    >>> m.update_state([1.0, 2.0], [[2.0], [4.0]])
    >>> m.update_state([3.0], [[7.0]])
    >>> round(float(m.result()), 6)
    0.993399
    """

    def __init__(self, name="pearson", dtype=None):
        super().__init__(name=name, dtype=dtype)
        names = ("n", "sum_x", "sum_y", "sum_xx", "sum_yy", "sum_xy")
        self.n, self.sum_x, self.sum_y, self.sum_xx, self.sum_yy, self.sum_xy = (
            self._state(name) for name in names
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        x = _ops_regression(ops.convert_to_tensor(y_true))
        y = _ops_regression(ops.convert_to_tensor(y_pred))
        weights = _ops_weights(sample_weight, x)
        self.n.assign_add(ops.sum(weights))
        self.sum_x.assign_add(ops.sum(weights * x))
        self.sum_y.assign_add(ops.sum(weights * y))
        self.sum_xx.assign_add(ops.sum(weights * x * x))
        self.sum_yy.assign_add(ops.sum(weights * y * y))
        self.sum_xy.assign_add(ops.sum(weights * x * y))

    def result(self):
        n = self.n
        var_x = n * self.sum_xx - self.sum_x * self.sum_x
        var_y = n * self.sum_yy - self.sum_y * self.sum_y
        cov = n * self.sum_xy - self.sum_x * self.sum_y
        constant = ops.logical_or(
            var_x <= _CONSTANT_RTOL * n * self.sum_xx, var_y <= _CONSTANT_RTOL * n * self.sum_yy
        )
        safe = ops.where(constant, 1.0, var_x * var_y)
        value = ops.where(constant, float("nan"), ops.clip(cov / ops.sqrt(safe), -1.0, 1.0))
        return ops.cast(value, self.dtype)
