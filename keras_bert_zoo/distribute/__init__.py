"""Choosing a tf.distribute strategy; the same training code runs on CPU, GPUs, workers or a TPU.

Build the model and its optimizer inside `strategy.scope()`, give `model.fit` datasets batched with
the *global* batch size (the strategy splits each batch across replicas), and set the dataset's
auto-shard policy explicitly (see `keras_bert_zoo.distribute.datasets`). With equal per-replica
batches and no dropout, a distributed run follows the single-device loss curve to float32 rounding:
tests/test_distribute.py checks MirroredStrategy over 2 logical CPUs and MultiWorkerMirroredStrategy
over 2 local processes against one device, with gradient clipping active (`kbz.training.AdamW` clips
the all-reduced gradient).
"""

import json
import os

import tensorflow as tf

from keras_bert_zoo import compat
from keras_bert_zoo.distribute.datasets import (
    AUTO_SHARD_POLICIES,
    distribute_dataset,
    per_replica_batch_size,
    per_worker_dataset_fn,
    with_auto_shard_policy,
)

STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")


def _tpu_resolver(tpu=None):
    """A TPUClusterResolver for `tpu`, or None when `tpu` is None and no TPU is found.

    `tpu`: a TPU name or `grpc://` address; None looks for this VM's TPU or $TPU_NAME.
    """
    try:
        return tf.distribute.cluster_resolver.TPUClusterResolver(tpu)
    except (ValueError, RuntimeError, tf.errors.NotFoundError):
        if tpu is not None:
            raise
        return None


def _tpu_strategy(resolver):
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def tf_config_workers():
    """The number of worker tasks (chief included) that $TF_CONFIG describes; 0 without one."""
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON: {error}") from None
    if "ps" in cluster:  # parameter-server training is not one of ours
        return 0
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def local_devices():
    """The devices MirroredStrategy replicates over here: every GPU, else every logical CPU.

    Several logical CPUs exist only when someone split the CPU with
    `tf.config.set_logical_device_configuration` before TensorFlow started (tests do, to run
    MirroredStrategy without GPUs); otherwise this is `["/device:CPU:0"]`.
    """
    gpus = tf.config.list_logical_devices("GPU")
    return [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]


def get_strategy(name="auto", devices=None, collective_timeout=None, tpu=None):
    """Returns a tf.distribute strategy by name.

    "auto" takes a TPU if TPUClusterResolver finds one (`tpu`, else this VM's or $TPU_NAME's),
    else MultiWorkerMirroredStrategy when $TF_CONFIG describes more than one worker, else
    MirroredStrategy over the visible GPUs if there are any, else the default (single device)
    strategy. "mirrored" replicates over `devices`, by default every GPU or, without GPUs, every
    logical CPU. `collective_timeout` (seconds) bounds how long a multi-worker collective waits for
    a lost peer before it fails instead of hanging. `tpu` (a TPU name or `grpc://` address) is
    where "tpu" and "auto" look for a TPU; a `tpu` that cannot be resolved is an error.

    Example:
    >>> strategy = get_strategy("default")
    >>> strategy.num_replicas_in_sync
    1
    """
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; choose one of {STRATEGIES}.")
    if name == "auto":
        resolver = _tpu_resolver(tpu)
        if resolver is not None:
            return _tpu_strategy(resolver)
        if tf_config_workers() > 1:
            return get_strategy("multi_worker", collective_timeout=collective_timeout)
        return (
            tf.distribute.MirroredStrategy()
            if tf.config.list_physical_devices("GPU")
            else tf.distribute.get_strategy()
        )
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices or local_devices())
    if name == "multi_worker":
        patch_keras_for_multi_worker()
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=collective_timeout)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    return _tpu_strategy(tf.distribute.cluster_resolver.TPUClusterResolver(tpu))


def patch_keras_for_multi_worker():
    """Lets `model.fit` run under MultiWorkerMirroredStrategy at all (Keras 3.15 on TensorFlow 2.21).

    Two Keras bugs stop it before the first step; this replaces the two functions involved, for
    the multi-worker strategy only (other strategies keep Keras' own code). `get_strategy` applies it;
    call it yourself if you create the strategy without `get_strategy`.

    * Keras builds a model's losses and metrics from a first batch that it collapses with
      `strategy.reduce("MEAN", batch)`; the multi-worker strategy cannot reduce a dict (every BERT
      model takes one), keras-team/keras#20329. The patch takes the first local replica's part of
      that batch instead: only its shapes and dtypes matter, and no collective is needed.
    * `fit` averages each step's logs over the workers with `strategy.reduce("MEAN", value, axis=0)`,
      which fails on scalars such as the loss, tensorflow/tensorflow#72388. The patch reduces
      scalars with `axis=None` (the mean over replicas, i.e. the global-batch value).
    """
    compat.patch_multi_worker_fit()


def is_chief(strategy):
    """True on the worker that should write shared files (checkpoints, exports, logs).

    That is the "chief" task, or worker 0 of a cluster without one, under MultiWorkerMirroredStrategy,
    and always True for single-worker strategies.

    Example:
    >>> is_chief(get_strategy("default"))
    True
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not compat.in_multi_worker_mode(strategy):
        return True
    if resolver.task_type == "chief":
        return True
    return (
        resolver.task_type in (None, "worker")
        and not resolver.task_id
        and "chief" not in resolver.cluster_spec().as_dict()
    )


__all__ = [
    "AUTO_SHARD_POLICIES",
    "STRATEGIES",
    "distribute_dataset",
    "get_strategy",
    "is_chief",
    "local_devices",
    "patch_keras_for_multi_worker",
    "per_replica_batch_size",
    "per_worker_dataset_fn",
    "tf_config_workers",
    "with_auto_shard_policy",
]
