"""A small real fine-tuning run for tests/test_resume.py to kill and restart.

    python tests/resume_worker.py --model-dir RUN --out final.npz

Fine-tunes a tiny BertClassifier (dropout on) on the first 32 SST-2 dev sentences with the package's
pieces: read_glue_tsv, classification_dataset (shuffled; replayable_epochs makes one stream of the
epochs), create_optimizer and default_callbacks with a backup every 3 batches. Words are hashed into
ids in the tf.data graph (BertTokenizer's Unicode tables take seconds to build, and tokenization is
not what is tested). Prints a line per trained batch ("step EPOCH BATCH ITERATIONS LOSS") and, when it
restored a backup, "resumed EPOCH BATCH ITERATIONS"; writes the final weights and the batch losses to
--out. Run again with the same arguments after a kill, it continues from RUN/backup.
"""

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TSV = Path(__file__).parent / "data" / "sst2" / "dev.tsv"
VOCABULARY, SEQUENCE = 101, 16


def hashing_preprocessor(sentences):
    """[CLS]=1 + word ids hashed into [2, VOCABULARY) + padding, as BertPreprocessor's outputs."""
    import tensorflow as tf

    words = tf.strings.split(tf.strings.lower(sentences))[:, : SEQUENCE - 1]
    ids = tf.ragged.map_flat_values(lambda w: tf.strings.to_hash_bucket_fast(w, VOCABULARY - 2) + 2, words)
    ids = tf.concat([tf.ones_like(ids[:, :1]), ids], axis=1)
    token_ids = tf.cast(ids.to_tensor(0, shape=[None, SEQUENCE]), tf.int32)
    padding_mask = tf.cast(token_ids > 0, tf.int32)
    return {"token_ids": token_ids, "segment_ids": tf.zeros_like(token_ids), "padding_mask": padding_mask}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--examples", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--backup-save-freq", type=int, default=3)
    parser.add_argument("--step-delay", type=float, default=0.0, help="seconds to sleep after each batch")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    import keras_bert_zoo as kbz
    from keras_bert_zoo.data import classification_dataset, read_glue_tsv

    tf.config.threading.set_intra_op_parallelism_threads(1)  # tests run on 2 busy cores
    keras.utils.set_random_seed(args.seed)
    train = read_glue_tsv(TSV)
    train.texts, train.labels = [train.texts[0][: args.examples]], train.labels[: args.examples]
    steps_per_epoch = math.ceil(len(train.labels) / args.batch_size)
    train_ds = kbz.training.replayable_epochs(
        lambda seed: classification_dataset(train, hashing_preprocessor, args.batch_size, label_names=["0", "1"],
                                            shuffle=True, seed=seed),
        args.epochs, seed=args.seed)

    encoder = kbz.BertEncoder(VOCABULARY, num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32,
                              max_sequence_length=SEQUENCE)
    model = kbz.BertClassifier(encoder, num_classes=2)  # dropout 0.1: its RNG must survive the restart too
    total = args.epochs * steps_per_epoch
    model.compile(optimizer=kbz.training.create_optimizer(3e-3, total, warmup_steps=total // 10),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    losses = []

    class Progress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.iterations = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            backup = next(c for c in callbacks if isinstance(c, kbz.training.ResumableBackupAndRestore))
            if backup.resumed_from is not None:
                epoch, batch, _ = backup.resumed_from
                print(f"resumed {epoch} {batch} {self.iterations}", flush=True)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            iterations = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            if iterations == self.iterations:
                return  # a batch skipped to catch up with the restored backup, not trained on
            self.iterations = iterations
            losses.append((iterations, float(logs["loss"])))
            print(f"step {self.epoch} {batch} {iterations} {logs['loss']:.9f}", flush=True)
            time.sleep(args.step_delay)

    callbacks = kbz.training.default_callbacks(args.model_dir, monitor="loss", backup_save_freq=args.backup_save_freq,
                                               dataset_spans_epochs=True)
    callbacks.append(Progress())
    model.fit(train_ds, epochs=args.epochs, steps_per_epoch=steps_per_epoch, callbacks=callbacks, verbose=0)
    np.savez(args.out, losses=np.array(losses), **{v.path: keras.ops.convert_to_numpy(v) for v in model.weights})
    print("finished", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
