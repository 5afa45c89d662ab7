"""Every use of a private API of Keras, TensorFlow or LiteRT in keras_bert_zoo, each behind a version check.

Private APIs change without notice between releases, so each one used lives here, in a small named
function documented with what it touches and why, and nowhere else in the package (tests/test_compat.py
checks that no other module imports `keras.src`, `tensorflow.python` or `tensorflow.lite.python`).
The first call of a function that needs a package checks, once per package, that the installed version
is in the range the code was written and tested for (the minor version pinned in setup.cfg), and raises
`UnsupportedKerasVersion` naming the installed version, the range and the function otherwise. Importing
this module imports neither Keras nor TensorFlow.
"""

import contextlib
import functools
import importlib
import re

# The versions the private uses below were written and tested for: the minor of setup.cfg's pin.
KERAS_RANGE = (">=3.15", "<3.16")  # keras==3.15.1
TENSORFLOW_RANGE = (">=2.21", "<2.22")  # tensorflow==2.21.0
LITERT_RANGE = (">=2.3", "<2.4")  # ai-edge-litert==2.3.0

_RANGES = {"keras": KERAS_RANGE, "tensorflow": TENSORFLOW_RANGE, "ai_edge_litert": LITERT_RANGE}
_checked = set()  # the packages whose version passed


class UnsupportedKerasVersion(RuntimeError):
    """An installed Keras, TensorFlow or LiteRT outside the range a private API was used for."""


def installed_version(package):
    """The `__version__` of the importable module `package` (what the checks compare)."""
    return importlib.import_module(package).__version__


def _release(version):
    match = re.match(r"\d+(?:\.\d+)*", version)
    if match is None:
        raise ValueError(f"not a version: {version!r}")
    return tuple(int(part) for part in match.group(0).split("."))


def _in_range(version, bounds):
    """True when `version` satisfies every bound of `bounds` (">=X.Y", "<X.Y")."""
    release = _release(version)
    for bound in bounds:
        operator, limit = re.fullmatch(r"(>=|<)\s*(\S+)", bound).groups()
        limit = _release(limit)
        padded = release[: len(limit)] + (0,) * (len(limit) - len(release))
        if (operator == ">=" and padded < limit) or (operator == "<" and padded >= limit):
            return False
    return True


def check_version(package, function):
    """Raises UnsupportedKerasVersion unless `package` is in its range; `function` is who needs it."""
    if package in _checked:
        return
    version, bounds = installed_version(package), _RANGES[package]
    if not _in_range(version, bounds):
        raise UnsupportedKerasVersion(
            f"keras_bert_zoo.compat.{function} uses a private API of {package} written for {package}"
            f"{','.join(bounds)}, but {package} {version} is installed; install a version in that range "
            "(setup.cfg pins one)."
        )
    _checked.add(package)


def _needs(*packages):
    """Checks the versions of `packages` at the decorated function's first call."""

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            for package in packages:
                check_version(package, function.__qualname__)
            return function(*args, **kwargs)

        return wrapper

    return decorate


# --- Keras -------------------------------------------------------------------------------------


@_needs("keras")
def initial_epoch_of(model):
    """`Trainer._initial_epoch`: the epoch Keras' BackupAndRestore restored, which `fit` starts from."""
    return model._initial_epoch


@_needs("keras")
def set_initial_epoch(model, epoch):
    """Sets `Trainer._initial_epoch`, the only way a callback can make `fit` start at a restored epoch."""
    model._initial_epoch = epoch


@_needs("keras")
def build_compiled_metrics(model, data_batch):
    """`Trainer._symbolic_build`: builds compiled losses/metrics from a batch without training on it."""
    model._symbolic_build(data_batch=data_batch)


@_needs("keras")
def optimizer_variable_index(optimizer, variable):
    """`BaseOptimizer._get_variable_index`: the index of `variable` in the optimizer's variable list."""
    return optimizer._get_variable_index(variable)


class ClipsGlobalBatchGradients:
    """Optimizer mixin: sums the replicas' gradients before clipping, as one device clips the global batch,
    and clips an embedding's gradient by its true norm.

    Overrides `BaseOptimizer._clip_gradients` (Keras calls it right before `_backend_update_step`) and
    `TFOptimizer._all_reduce_sum_gradients` (whose all-reduce then has nothing left to sum). Put it
    before the Keras optimizer class in the bases.

    An embedding lookup's gradient is `tf.IndexedSlices` with a row per token of the batch, the same row
    repeated for a repeated token; `tf.clip_by_global_norm` takes the norm of those rows, not of their sums
    (the gradient's true norm, torch's `clip_grad_norm_`), so the clipped step differed from torch's
    (logits 3e-4 apart after 20 steps of MiniLM; 3e-7 made dense first). Clipping makes them dense first.
    """

    def _clip_gradients(self, grads):
        check_version("keras", "ClipsGlobalBatchGradients")
        grads = _sum_over_replicas(grads)
        if self.clipnorm or self.global_clipnorm:
            import tensorflow as tf

            grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]
        return super()._clip_gradients(grads)

    def _all_reduce_sum_gradients(self, grads_and_vars):
        return grads_and_vars  # summed in _clip_gradients


def _sum_over_replicas(grads):
    """The gradients summed over the replicas of a tf.distribute strategy (as they are with one replica)."""
    import tensorflow as tf

    replica_context = tf.distribute.get_replica_context()
    if replica_context is None or replica_context.num_replicas_in_sync == 1:
        return grads
    return replica_context.all_reduce(tf.distribute.ReduceOp.SUM, grads)


@_needs("keras", "tensorflow")
def patch_multi_worker_fit():
    """Replaces `keras.src.backend.tensorflow.trainer`'s `TensorFlowTrainer._maybe_symbolic_build` and
    `reduce_per_replica`, for MultiWorkerMirroredStrategy only, so that `fit` runs under it (see
    `keras_bert_zoo.distribute.patch_keras_for_multi_worker`); applying it twice changes nothing.
    """
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer

    if getattr(trainer.reduce_per_replica, "_keras_bert_zoo_patch", False):
        return
    build, reduce_per_replica = trainer.TensorFlowTrainer._maybe_symbolic_build, trainer.reduce_per_replica

    def multi_worker(strategy):
        return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and in_multi_worker_mode(strategy)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if iterator is None or not multi_worker(strategy):
            return build(self, iterator=iterator, data_batch=data_batch)
        for _, _, it in iterator:
            data_batch = tf.nest.map_structure(
                lambda v: strategy.experimental_local_results(v)[0]
                if isinstance(v, tf.distribute.DistributedValues) else v,
                next(it),
            )
            break
        return build(self, iterator=None, data_batch=data_batch)

    def _reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean") or not multi_worker(strategy):
            return reduce_per_replica(values, strategy, reduction)
        return tf.nest.map_structure(
            lambda v: strategy.reduce("MEAN", v, axis=0 if len(getattr(v, "shape", ())) else None), values)

    _reduce_per_replica._keras_bert_zoo_patch = True
    trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
    trainer.reduce_per_replica = _reduce_per_replica


# --- TensorFlow --------------------------------------------------------------------------------


@_needs("tensorflow")
def in_multi_worker_mode(strategy):
    """`StrategyExtended._in_multi_worker_mode()`: whether `strategy` spans several workers (no public API)."""
    return strategy.extended._in_multi_worker_mode()


@_needs("tensorflow")
def set_calibration_custom_ops(converter, registerers):
    """`TargetSpec._experimental_custom_op_registerers`: the kernels TF's calibration interpreter loads."""
    converter.target_spec._experimental_custom_op_registerers = registerers


@_needs("tensorflow")
def set_calibrate_only(converter):
    """`TFLiteConverter._experimental_calibrate_only`: `convert()` calibrates but does not quantize."""
    converter._experimental_calibrate_only = True


@_needs("tensorflow")
def mlir_quantize(calibrated, **kwargs):
    """`tensorflow.lite.python.convert.mlir_quantize`: quantizes a calibrated model op by op (denylists)."""
    from tensorflow.lite.python import convert as lite_convert

    return lite_convert.mlir_quantize(calibrated, **kwargs)


@contextlib.contextmanager
@_needs("keras", "tensorflow")
def argmax_without_bitwise_and():
    """Traces `keras.ops.argmax` as a plain `tf.argmax` while active (`keras.src.backend.tensorflow.numpy.argmax`
    swapped): Keras' TensorFlow argmax orders -0.0 before 0.0 with a BitwiseAnd that LiteRT has no kernel for
    (logits never need that order). The TFLite generator export traces its decoding loop inside it."""
    import tensorflow as tf
    from keras.src.backend.tensorflow import numpy as backend_numpy

    def argmax(x, axis=None, keepdims=False):
        if axis is None:
            x, axis = tf.reshape(x, [-1]), 0
        result = tf.argmax(x, axis=axis, output_type=tf.int32)
        return tf.expand_dims(result, axis) if keepdims else result

    keras_argmax = backend_numpy.argmax
    backend_numpy.argmax = argmax
    try:
        yield
    finally:
        backend_numpy.argmax = keras_argmax



@_needs("keras", "tensorflow")
def export_archive():
    """A `keras.export.ExportArchive` that writes each variable once. Keras 3.15 on TensorFlow tracks a layer's
    Keras variables (`_backend_track_layer`) beside the tf.Variables its endpoints capture, and the SavedModel
    stores both (keras-team/keras#23553): twice the size, and twice the variable memory in TF Serving. Here
    the tracked lists hold the tf.Variables themselves, which the checkpoint then writes once."""
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()

    def track_layer(layer):
        for collection in ("variables", "trainable_variables", "non_trainable_variables"):
            tracked = getattr(archive._tf_trackable, collection)
            for variable in getattr(layer, collection):
                value = getattr(variable, "value", variable)
                tracked.append(value if isinstance(value, tf.Variable) else variable)

    archive._backend_track_layer = track_layer
    return archive


# --- LiteRT (ai-edge-litert) -------------------------------------------------------------------


@_needs("ai_edge_litert")
def tflite_ops_details(interpreter):
    """`Interpreter._get_ops_details()`: the ops of a .tflite (op_name, inputs, ...); no public API lists them."""
    return interpreter._get_ops_details()


@_needs("ai_edge_litert")
def signature_key_of(runner):
    """`SignatureRunner._signature_key`: the key a runner was made for, to make another runner for it."""
    return runner._signature_key
