"""Feeding tf.data pipelines to a distribution strategy: auto-shard policy, global vs per-replica batch.

Two ways to split data across workers, both giving every step the same global batch a single device
would see (examples `k*B ... (k+1)*B - 1` for step k, B the global batch size):

* **DATA auto-sharding** (`distribute_dataset(strategy, ds, "data")`, or `with_auto_shard_policy(ds,
  "data")` and let `model.fit` distribute it): every worker builds the whole pipeline batched with the
  global batch size; tf.distribute splits each global batch into per-replica batches and each worker
  keeps only its replicas' parts. Right for in-memory data (`from_tensor_slices`, what
  `classification_dataset` builds): there are no files to split between workers, and the default
  AUTO policy would try FILE sharding, fail, and fall back to DATA with a warning.
* **OFF + per-worker sharding** (`strategy.distribute_datasets_from_function(per_worker_dataset_fn(
  make_examples, B))`): each worker shards the *unbatched* examples itself (`shard(num_workers, i)`)
  and batches with the per-replica batch size, so it never tokenizes the other workers' examples.
  Right for large pipelines; needs the same example order (same shuffle seed) on every worker.

FILE sharding (whole files per worker) changes which examples share a step, so it does not reproduce
single-device training; use it only for data too large to read on every worker.
"""

import tensorflow as tf

AUTO_SHARD_POLICIES = {
    "auto": tf.data.experimental.AutoShardPolicy.AUTO,
    "data": tf.data.experimental.AutoShardPolicy.DATA,
    "file": tf.data.experimental.AutoShardPolicy.FILE,
    "off": tf.data.experimental.AutoShardPolicy.OFF,
}


def with_auto_shard_policy(dataset, policy="data"):
    """`dataset` with its auto-shard policy set ("data", "off", "file", "auto" or the enum value).

    Example:
    >>> ds = with_auto_shard_policy(tf.data.Dataset.range(8).batch(4), "data")
    >>> ds.options().experimental_distribute.auto_shard_policy.name
    'DATA'
    """
    if isinstance(policy, str):
        if policy.lower() not in AUTO_SHARD_POLICIES:
            raise ValueError(f"Unknown auto-shard policy {policy!r}; choose one of {list(AUTO_SHARD_POLICIES)}.")
        policy = AUTO_SHARD_POLICIES[policy.lower()]
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = policy
    return dataset.with_options(options)


def per_replica_batch_size(global_batch_size, strategy):
    """The batch each replica computes on; the global batch size must split evenly.

    Keras scales each replica's mean loss by 1 / num_replicas, which is the global mean only when the
    replicas' batches are equal; uneven splits would weight examples differently than one device.

    Example:
    >>> per_replica_batch_size(32, tf.distribute.get_strategy())
    32
    """
    replicas = strategy.num_replicas_in_sync
    if global_batch_size % replicas:
        raise ValueError(f"Global batch size {global_batch_size} does not split evenly over {replicas} replicas.")
    return global_batch_size // replicas


def distribute_dataset(strategy, dataset, policy="data"):
    """`strategy.experimental_distribute_dataset` with the auto-shard policy set first.

    `dataset` is batched with the *global* batch size. The result can go straight to `model.fit`.
    """
    return strategy.experimental_distribute_dataset(with_auto_shard_policy(dataset, policy))


def per_worker_dataset_fn(make_examples, global_batch_size, drop_remainder=False):
    """A function for `strategy.distribute_datasets_from_function` that shards per worker, policy OFF.

    `make_examples()` returns the *unbatched* examples in the order one device would train on them
    (shuffled with a fixed seed, identical on every worker). Worker i keeps every n-th example
    starting at i and batches with the per-replica batch size, so the examples of global step k are
    exactly those a single device batches together at step k (the global batch size must be a
    multiple of the number of replicas).
    """

    def dataset_fn(input_context):
        batch = input_context.get_per_replica_batch_size(global_batch_size)
        if batch * input_context.num_replicas_in_sync != global_batch_size:
            raise ValueError(f"Global batch size {global_batch_size} does not split evenly over "
                             f"{input_context.num_replicas_in_sync} replicas.")
        ds = make_examples()
        if input_context.num_input_pipelines > 1:
            ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        return with_auto_shard_policy(ds.batch(batch, drop_remainder=drop_remainder), "off")

    return dataset_fn
