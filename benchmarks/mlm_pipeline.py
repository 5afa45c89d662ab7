#!/usr/bin/env python
"""Does the MLM+NSP pretraining pipeline keep up with training? Batches/s vs training steps/s.

Pipeline: `kbz.data.pretraining_dataset(documents, preprocessor, 32)` (128 pieces; BERT's pair planning,
in-graph tokenization, packing and 15% / 80-10-10 masking) mapped with `split_for_pretrainer`,
exactly what `BertPretrainer.fit` would read, repeated; timed after a warm-up, with the documents
already tokenized and planned (that one-off cost is reported apart). The documents are SST-2 train
sentences (`--file`), `--sentences-per-document` consecutive lines to a document, or a text corpus
in `read_pretraining_text`'s format (`--corpus`).

Training: `kbz.BertPretrainer(kbz.load("bert_base_uncased", weights=None))` (random init),
compiled with `kbz.training.create_optimizer` (AdamW, warmup + linear decay) and BERT's losses
(masked-LM cross-entropy over real predictions, NSP cross-entropy), fed batches of that pipeline
with `train_on_batch`; timed after warm-up steps (the first traces the step function).

Reported: pipeline batches/s, its CPU seconds per batch, training steps/s, and the ratio
(pipeline batches/s / steps/s, the goal being >= 10), plus the share of the CPU the pipeline would
take from training (pipeline CPU s per batch / step wall time). On this 2-core CPU a BERT-base step
takes many seconds, so the default run times few steps; compare ratios, not absolute numbers.

    python benchmarks/mlm_pipeline.py                    # ~3-5 min on 2 cores (BERT-base)
    python benchmarks/mlm_pipeline.py --quick            # < ~1 min: fewer batches, BERT-mini steps
    python benchmarks/mlm_pipeline.py --whole-word-masking --steps 3
"""

import argparse
import csv
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILE = ROOT.parent / "shared" / "data" / "sst2" / "train.tsv"


def read_documents(args):
    from keras_bert_zoo.data import read_pretraining_text

    if args.corpus:
        return read_pretraining_text(args.corpus)
    with open(args.file, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    index = rows[0].index("sentence")
    lines = [row[index].strip() for row in rows[1:] if row[index].strip()]
    size = args.sentences_per_document
    return [lines[i:i + size] for i in range(0, len(lines), size)]


def time_pipeline(ds, warmup, batches, rounds):
    """(batches/s per round, CPU s per batch per round) over `batches` batches after `warmup`."""
    iterator = iter(ds)
    for _ in range(warmup):
        next(iterator)
    speeds, cpu = [], []
    for _ in range(rounds):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(batches):
            next(iterator)
        speeds.append(batches / (time.perf_counter() - wall_start))
        cpu.append((time.process_time() - cpu_start) / batches)
    return speeds, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", default=str(DEFAULT_FILE), help="GLUE TSV with a 'sentence' column")
    parser.add_argument("--corpus", nargs="*", help="text files: one sentence a line, blank line between documents")
    parser.add_argument("--sentences-per-document", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--whole-word-masking", action="store_true")
    parser.add_argument("--preset", default="bert_base_uncased", help="encoder preset trained on")
    parser.add_argument("--batches", type=int, default=200, help="pipeline batches per timed round")
    parser.add_argument("--rounds", type=int, default=3, help="pipeline timed rounds")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps (after --warmup-steps)")
    parser.add_argument("--warmup-steps", type=int, default=2)
    parser.add_argument("--quick", action="store_true",
                        help="150 batches x 2 rounds, and 3 steps of bert_mini_uncased instead of BERT-base")
    args = parser.parse_args()
    if args.quick:
        args.batches, args.rounds, args.steps, args.warmup_steps = 150, 2, 3, 1
        if args.preset == "bert_base_uncased":
            args.preset = "bert_mini_uncased"

    import keras
    import numpy as np
    import tensorflow as tf

    import keras_bert_zoo as kbz
    from keras_bert_zoo.data import IGNORE_LABEL, pretraining_dataset, split_for_pretrainer

    documents = read_documents(args)
    preprocessor = kbz.load_preprocessor(args.preset, sequence_length=args.sequence_length)
    start = time.perf_counter()
    ds = pretraining_dataset(
        documents, preprocessor, args.batch_size, whole_word_masking=args.whole_word_masking, seed=0,
        as_features=True,
    )
    setup_s = time.perf_counter() - start
    pairs = int(ds.reduce(0, lambda n, batch: n + tf.shape(batch["token_ids"])[0]))
    print(f"{sum(map(len, documents))} sentences in {len(documents)} documents -> {pairs} pairs; "
          f"tokenize + plan: {setup_s:.1f} s; {os.cpu_count()} CPUs, TF {tf.__version__}, "
          f"keras {keras.__version__}")
    train_ds = ds.map(split_for_pretrainer, num_parallel_calls=tf.data.AUTOTUNE).repeat()

    speeds, cpu = time_pipeline(train_ds, warmup=10, batches=args.batches, rounds=args.rounds)
    pipeline = statistics.median(speeds)
    cpu_per_batch = statistics.median(cpu)
    print(f"pipeline: {pipeline:.1f} batches/s median of {args.rounds} x {args.batches} "
          f"(rounds: {', '.join(f'{s:.1f}' for s in speeds)}); {1000 * cpu_per_batch:.1f} CPU ms/batch; "
          f"{pipeline * args.batch_size:,.0f} sequences/s")

    keras.utils.set_random_seed(0)
    encoder = kbz.load(args.preset, weights=None)  # pretraining from scratch
    pretrainer = kbz.BertPretrainer(encoder)
    total_steps = args.warmup_steps + args.steps
    pretrainer.compile(
        optimizer=kbz.training.create_optimizer(1e-4, num_train_steps=10_000, warmup_steps=100),
        loss={
            "mlm_logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_LABEL),
            "nsp_logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        },
    )
    batches = [
        tf.nest.map_structure(np.asarray, batch)
        for batch in train_ds.take(total_steps).as_numpy_iterator()
    ]
    step_times = []
    for step, (inputs, targets, _) in enumerate(batches):
        start = time.perf_counter()
        losses = pretrainer.train_on_batch(inputs, targets, return_dict=True)
        if step >= args.warmup_steps:
            step_times.append(time.perf_counter() - start)
        else:
            print(f"warm-up step {step + 1}: {time.perf_counter() - start:.1f} s, loss {float(losses['loss']):.3f}")
    step_s = statistics.median(step_times)
    steps = 1 / step_s
    print(f"training ({args.preset}, {encoder.count_params() / 1e6:.0f}M encoder parameters, batch "
          f"{args.batch_size} x {args.sequence_length}): {steps:.3f} steps/s "
          f"({step_s:.2f} s/step, median of {len(step_times)}: {', '.join(f'{t:.2f}' for t in step_times)})")
    print(f"ratio: pipeline {pipeline:.1f} batches/s / training {steps:.3f} steps/s = {pipeline / steps:,.0f}x "
          f"(goal >= 10x); pipeline CPU per step = {100 * cpu_per_batch / step_s:.2f}% of a step's wall time")


if __name__ == "__main__":
    main()
