#!/usr/bin/env python
"""Full-encode throughput on SST-2 train: ours vs Hugging Face's BertTokenizerFast vs plain tf-text;
with `--bpe`, our byte-level BPE vs Hugging Face's RobertaTokenizerFast.

"Full encode" = tokenize + [CLS]/[SEP] + truncate and pad to 128, ids delivered as numpy arrays:

* ours: `kbz.text.BertPreprocessor(BertTokenizer(uncased vocab), sequence_length=128)` mapped over
  a tf.data pipeline (`batch(1024)`, `map(num_parallel_calls=AUTOTUNE)`, `prefetch(AUTOTUNE)`),
  iterated with `as_numpy_iterator()`;
* hf: `BertTokenizerFast(vocab=path, do_lower_case=True)` (Rust `tokenizers`), one batch call per
  `--hf-batch` lines with `padding="max_length", truncation=True, max_length=128,
  return_tensors="np"` (transformers 5 ignores `vocab_file=`, hence `vocab=`);
* tf-text: the plain tensorflow-text recipe in the same tf.data pipeline as ours:
  `text.FastBertTokenizer(vocab, lower_case_nfd_strip_accents=True)`, cut to 126 pieces,
  `text.combine_segments`, `text.pad_model_inputs` (tf-text's NFKC-based lowercasing differs from
  BERT's on some characters; the parity line says on how many rows).

`--bpe` (RoBERTa: roberta-base's vocab.json + merges.txt from tests/data/roberta_bpe): `BytePairTokenizer` +
`BertPacker(cls_id=<s>, sep_id=</s>, pad_id=<pad>)` (`<s> a </s>`, pad to 128) in the same tf.data pipeline vs
`RobertaTokenizerFast(vocab=, merges=)` with the same call options (no tf-text contender: it has no BPE).
Use the full file: on `--quick`'s 10 batches ours has not reached its pace (AUTOTUNE), 15k vs 46k lines/s.

Before anything is timed, ours is checked against HF on every line (token ids, segment ids, mask).
The machine is shared and noisy, so the contenders run interleaved: each round times every one once
(order rotated), and ratios are taken within a round. Reported: median and best lines/s over the
rounds, median of the per-round ratios, and CPU seconds per 1k lines (process time, all threads).

    python benchmarks/tokenize_speed.py                      # 67k lines x 5 rounds, ~1-2 min on 2 cores
    python benchmarks/tokenize_speed.py --rounds 9 --file path/to/train.tsv
    python benchmarks/tokenize_speed.py --quick              # 10k lines, 3 rounds
    python benchmarks/tokenize_speed.py --bpe                # byte-level BPE (RoBERTa) vs RobertaTokenizerFast
"""

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILE = ROOT.parent / "shared" / "data" / "sst2" / "train.tsv"
VOCAB = ROOT / "keras_bert_zoo" / "vocab" / "uncased.txt"
BPE_FILES = ROOT / "tests" / "data" / "roberta_bpe"
SEQUENCE_LENGTH = 128


def read_sentences(path, column="sentence"):
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    index = rows[0].index(column)
    return [row[index] for row in rows[1:]]


def pipeline(lines, batch_size, fn):
    import tensorflow as tf

    source = tf.data.Dataset.from_tensor_slices(tf.constant(lines, tf.string))
    return source.batch(batch_size).map(fn, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def run_tf(dataset):
    return [batch for batch in dataset.as_numpy_iterator()]


def hf_runner(hf, lines, hf_batch):
    step = hf_batch or len(lines)
    return lambda: [
        hf(lines[i:i + step], padding="max_length", truncation=True, max_length=SEQUENCE_LENGTH, return_tensors="np")
        for i in range(0, len(lines), step)
    ]


def make_bpe_contenders(lines, batch_size, hf_batch):
    from transformers import RobertaTokenizerFast

    from keras_bert_zoo.text import BertPacker, BytePairTokenizer

    vocabulary, merges = BPE_FILES / "vocab.json", BPE_FILES / "merges.txt"
    tokenizer = BytePairTokenizer(vocabulary, merges)
    packer = BertPacker(cls_id=tokenizer.cls_id, sep_id=tokenizer.sep_id, pad_id=tokenizer.pad_id,
                        sequence_length=SEQUENCE_LENGTH)
    ours = pipeline(lines, batch_size, lambda strings: packer(tokenizer(strings)))
    hf = RobertaTokenizerFast(vocab=str(vocabulary), merges=str(merges))
    return {"ours": lambda: run_tf(ours), "hf": hf_runner(hf, lines, hf_batch)}


def make_contenders(lines, batch_size, hf_batch):
    import tensorflow as tf
    import tensorflow_text as text
    from transformers import BertTokenizerFast

    from keras_bert_zoo.text import BertPreprocessor, BertTokenizer

    tokenizer = BertTokenizer(VOCAB, lowercase=True)
    preprocessor = BertPreprocessor(tokenizer, sequence_length=SEQUENCE_LENGTH)
    vocabulary = tokenizer.get_vocabulary()
    fast = text.FastBertTokenizer(vocabulary, token_out_type=tf.int32, lower_case_nfd_strip_accents=True)
    cls_id, sep_id, pad_id = tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id

    @tf.autograph.experimental.do_not_convert
    def plain(strings):
        ids = fast.tokenize(strings)[:, : SEQUENCE_LENGTH - 2]
        token_ids, segment_ids = text.combine_segments([ids], cls_id, sep_id)
        token_ids, padding_mask = text.pad_model_inputs(token_ids, SEQUENCE_LENGTH, pad_value=pad_id)
        segment_ids, _ = text.pad_model_inputs(segment_ids, SEQUENCE_LENGTH)
        return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}

    ours_ds, plain_ds = pipeline(lines, batch_size, preprocessor), pipeline(lines, batch_size, plain)
    hf = BertTokenizerFast(vocab=str(VOCAB), do_lower_case=True)
    return {"ours": lambda: run_tf(ours_ds), "hf": hf_runner(hf, lines, hf_batch), "tf-text": lambda: run_tf(plain_ds)}


def check_parity(outputs):
    """Rows where each contender differs from HF (ours must match on every row; plain tf-text may not)."""
    import numpy as np

    def stack(batches, names):
        return [np.concatenate([np.asarray(b[name]) for b in batches]) for name in names]

    hf_keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in outputs["hf"][0]]
    keys = {"input_ids": "token_ids", "token_type_ids": "segment_ids", "attention_mask": "padding_mask"}
    hf = stack(outputs["hf"], hf_keys)
    differs = {}
    for name in outputs.keys() - {"hf"}:
        ours = stack(outputs[name], [keys[k] for k in hf_keys])
        differs[name] = int(sum((a != b).any(axis=1) for a, b in zip(ours, hf)).astype(bool).sum())
    return len(hf[0]), differs


def main():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", default=str(DEFAULT_FILE), help="GLUE TSV with a 'sentence' column")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (each times every contender)")
    parser.add_argument("--batch-size", type=int, default=1024, help="tf.data batch for ours and tf-text")
    parser.add_argument("--hf-batch", type=int, default=1024,
                        help="lines per HF batch call (default 1024, as ours; 0: all lines in one call)")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N lines")
    parser.add_argument("--quick", action="store_true", help="10k lines, 3 rounds")
    parser.add_argument("--bpe", action="store_true", help="byte-level BPE (RoBERTa) instead of WordPiece")
    args = parser.parse_args()
    if args.quick:
        args.limit, args.rounds = args.limit or 10_000, 3

    lines = read_sentences(args.file)
    if args.limit:
        lines = lines[: args.limit]
    contenders = (make_bpe_contenders if args.bpe else make_contenders)(lines, args.batch_size, args.hf_batch)

    import tensorflow as tf
    import tokenizers
    import transformers

    print(f"{len(lines)} lines from {args.file}; {os.cpu_count()} CPUs; TF {tf.__version__}, "
          f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}")
    outputs = {name: run() for name, run in contenders.items()}  # warm-up (tracing) and parity
    rows, differs = check_parity(outputs)
    print(f"parity vs HF on {rows} rows: " + ", ".join(f"{name} differs on {n}" for name, n in sorted(differs.items())))
    if differs["ours"]:
        sys.exit("ours does not match HF: not timing")

    names = list(contenders)
    wall = {name: [] for name in names}
    cpu = {name: [] for name in names}
    for round_index in range(args.rounds):
        order = names[round_index % len(names):] + names[: round_index % len(names)]
        for name in order:
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            contenders[name]()
            wall[name].append(time.perf_counter() - wall_start)
            cpu[name].append(time.process_time() - cpu_start)
        print(f"round {round_index + 1}: " + ", ".join(
            f"{name} {len(lines) / wall[name][-1]:,.0f}" for name in names) + " lines/s")

    print(f"\n{'':10s} {'median lines/s':>15s} {'best lines/s':>13s} {'CPU s / 1k lines':>17s}")
    for name in names:
        print(f"{name:10s} {len(lines) / statistics.median(wall[name]):15,.0f} "
              f"{len(lines) / min(wall[name]):13,.0f} {1000 * statistics.median(cpu[name]) / len(lines):17.4f}")
    for a, b in [pair for pair in (("ours", "hf"), ("tf-text", "hf"), ("ours", "tf-text")) if set(pair) <= set(names)]:
        ratios = [wall[b][i] / wall[a][i] for i in range(args.rounds)]
        print(f"{a}/{b}: median per-round ratio {statistics.median(ratios):.2f}x "
              f"(min {min(ratios):.2f}, max {max(ratios):.2f}); "
              f"CPU-time ratio {statistics.median(cpu[b]) / statistics.median(cpu[a]):.2f}x")


if __name__ == "__main__":
    main()
