"""Trains a tiny BertClassifier under a tf.distribute strategy; writes its loss curve and final weights.

Used by tests/test_distribute.py, always in a fresh process: logical CPUs and TF_CONFIG must be set
before TensorFlow starts, and a multi-worker run needs one process per worker.

    python tests/distributed_worker.py --strategy default --out single.npz
    python tests/distributed_worker.py --strategy mirrored --logical-cpus 2 --out mirrored.npz
    TF_CONFIG=... python tests/distributed_worker.py --strategy multi_worker --out worker0.npz

Each run trains one model per pipeline variant, all from the same initial weights:
  keras - a dataset batched with the global batch size, auto-shard policy DATA, distributed by fit;
  per_worker - distribute_datasets_from_function with per-worker sharding and policy OFF.
The output .npz holds `<variant>/losses` (fit's batch-end `loss` log, one per step) and
`<variant>/<weight path>` arrays.
"""

import argparse
import faulthandler
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

EXAMPLES, SEQUENCE, GLOBAL_BATCH, EPOCHS = 32, 8, 8, 2  # 4 steps an epoch, 8 steps in all
# One transformer layer: tracing the train step is most of a run's time.
TINY = {"vocabulary_size": 97, "num_layers": 1, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32}
VARIANTS = ("keras", "per_worker")


def make_data(seed=0):
    """Fixed token ids with varied padding and labels that depend on the tokens (learnable)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, SEQUENCE + 1, size=EXAMPLES)
    mask = (np.arange(SEQUENCE)[None, :] < lengths[:, None]).astype("int32")
    tokens = rng.integers(1, TINY["vocabulary_size"], size=(EXAMPLES, SEQUENCE)).astype("int32") * mask
    segments = (rng.integers(0, 2, size=(EXAMPLES, SEQUENCE)) * mask).astype("int32")
    labels = (tokens[:, 0] % 2).astype("int32")
    return {"token_ids": tokens, "segment_ids": segments, "padding_mask": mask}, labels


def dataset(strategy, variant):
    import tensorflow as tf

    from keras_bert_zoo.distribute import per_worker_dataset_fn, with_auto_shard_policy

    x, y = make_data()
    if variant == "keras":
        return with_auto_shard_policy(tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH), "data")
    # Datasets from a function have no known length: repeat them and give fit steps_per_epoch (without
    # it Keras runs one extra step on empty batches when the first epoch's data runs out).
    def examples():
        return tf.data.Dataset.from_tensor_slices((x, y)).repeat()

    return strategy.distribute_datasets_from_function(per_worker_dataset_fn(examples, GLOBAL_BATCH))


def train(strategy, variant, seed=0, learning_rate=3e-3, clipnorm=None, global_clipnorm=None):
    """Fits the tiny classifier for EPOCHS; returns (per-step loss logs, {weight path: array})."""
    import keras
    import numpy as np

    import keras_bert_zoo as kbz

    keras.utils.set_random_seed(seed)
    steps = EPOCHS * EXAMPLES // GLOBAL_BATCH
    with strategy.scope():
        model = kbz.BertClassifier(kbz.BertEncoder(**TINY, dropout=0.0), num_classes=2, dropout=0.0)
        model.compile(
            optimizer=kbz.training.create_optimizer(learning_rate, steps, warmup_steps=2, clipnorm=clipnorm,
                                                     global_clipnorm=global_clipnorm),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    losses = []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: losses.append(float(logs["loss"])))
    model.fit(dataset(strategy, variant), epochs=EPOCHS, steps_per_epoch=EXAMPLES // GLOBAL_BATCH, shuffle=False,
              verbose=0, callbacks=[record])
    return np.array(losses), {v.path: keras.ops.convert_to_numpy(v) for v in model.weights}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--strategy", choices=("default", "mirrored", "multi_worker"), required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--logical-cpus", type=int, default=1)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--clipnorm", type=float)
    parser.add_argument("--global-clipnorm", type=float)
    parser.add_argument("--timeout", type=float, default=120, help="the process exits after this many seconds")
    args = parser.parse_args(argv)
    faulthandler.dump_traceback_later(args.timeout, exit=True)  # never hang: a lost peer ends the run

    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)  # the test machine has 2 busy cores
    if args.logical_cpus > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus)

    from keras_bert_zoo.distribute import get_strategy

    strategy = get_strategy(args.strategy, collective_timeout=args.timeout)
    print(f"replicas={strategy.num_replicas_in_sync}", flush=True)
    arrays = {}
    for variant in args.variants.split(","):
        losses, weights = train(strategy, variant, clipnorm=args.clipnorm, global_clipnorm=args.global_clipnorm)
        arrays[f"{variant}/losses"] = losses
        arrays.update({f"{variant}/{path}": value for path, value in weights.items()})
        print(f"{variant} losses: {np.array2string(losses, precision=6)}", flush=True)
    np.savez(args.out, **arrays)
    print("done", flush=True)
    # Workers of a multi-worker run leave together; a worker exiting early can make its peer's
    # last collective fail.
    sys.stdout.flush()


if __name__ == "__main__":
    main()
