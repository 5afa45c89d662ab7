#!/usr/bin/env python
"""SentencePiece tokenize throughput on SST-2 train: ours vs Hugging Face's XLMRobertaTokenizerFast.

No real XLM-R `.model` is reachable here, so a unigram model (`nmt_nfkc`, byte fallback off, 4,000
pieces by default) is trained on all the file's sentences first (a few seconds, not timed), in a
temporary folder both tokenizers load:

* ours: `kbz.text.SentencePieceTokenizer(.model)` mapped over a tf.data pipeline (`batch(1024)`,
  `map(num_parallel_calls=AUTOTUNE)`, `prefetch(AUTOTUNE)`), ragged ids iterated as numpy;
* ours-tflite: the same with `tflite=True` (no regex step for U+0085, no offsets: what TFLite runs);
* hf: `XLMRobertaTokenizerFast.from_pretrained(folder)` (Rust `tokenizers`), one call per 1024
  lines, `add_special_tokens=False`.

Tokenize only (no packing: the XLM-R packer is not there yet). Ids are checked equal to HF's on every
line before anything is timed. Both use 2 threads (TF intra/inter-op pools, RAYON_NUM_THREADS). The
contenders run interleaved, each round timing every one once; ratios are taken within a round.

    python benchmarks/sentencepiece_speed.py              # 67k lines x 5 rounds, ~1 min on 2 cores
    python benchmarks/sentencepiece_speed.py --quick      # 10k lines, 3 rounds
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "2")  # the Rust tokenizers' thread pool
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from tokenize_speed import DEFAULT_FILE, read_sentences  # noqa: E402


def train_model(lines, folder, vocab_size):
    import sentencepiece as spm

    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_prefix=str(folder / "sentencepiece.bpe"),
        vocab_size=vocab_size, model_type="unigram", normalization_rule_name="nmt_nfkc", byte_fallback=False,
        minloglevel=2,
    )


def make_contenders(lines, folder, batch_size):
    import tensorflow as tf
    from transformers import XLMRobertaTokenizerFast

    from keras_bert_zoo.text import SentencePieceTokenizer

    source = tf.data.Dataset.from_tensor_slices(tf.constant(lines, tf.string))

    def run_ours(tokenizer):
        dataset = source.batch(batch_size).map(tokenizer, num_parallel_calls=tf.data.AUTOTUNE)
        return lambda: [ids for batch in dataset.prefetch(tf.data.AUTOTUNE) for ids in batch.to_list()]

    hf = XLMRobertaTokenizerFast.from_pretrained(str(folder))

    def run_hf():
        return [ids for i in range(0, len(lines), batch_size)
                for ids in hf(lines[i:i + batch_size], add_special_tokens=False)["input_ids"]]

    model = folder / "sentencepiece.bpe.model"
    return {"ours": run_ours(SentencePieceTokenizer(model)),
            "ours-tflite": run_ours(SentencePieceTokenizer(model, tflite=True)), "hf": run_hf}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", default=str(DEFAULT_FILE), help="GLUE TSV with a 'sentence' column")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--vocab-size", type=int, default=4000)
    parser.add_argument("--quick", action="store_true", help="10k lines, 3 rounds")
    args = parser.parse_args()
    sentences = read_sentences(args.file)
    lines = sentences[:10_000] if args.quick else sentences
    if args.quick:
        args.rounds = 3

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        train_model(sentences, Path(tmp), args.vocab_size)
        contenders = make_contenders(lines, Path(tmp), args.batch_size)
        print(f"{len(lines)} lines from {args.file}; {args.vocab_size} pieces; {os.cpu_count()} CPUs, 2 threads")
        outputs = {name: run() for name, run in contenders.items()}  # warm-up (tracing) and parity
        for name in ("ours", "ours-tflite"):
            differing = sum(a != b for a, b in zip(outputs[name], outputs["hf"]))
            print(f"parity vs HF on {len(lines)} lines: {name} differs on {differing}")
            if differing:
                sys.exit(f"{name} does not match HF: not timing")
        names = list(contenders)
        wall = {name: [] for name in names}
        cpu = {name: [] for name in names}
        for round_index in range(args.rounds):
            for name in names[round_index % len(names):] + names[: round_index % len(names)]:
                wall_start, cpu_start = time.perf_counter(), time.process_time()
                contenders[name]()
                wall[name].append(time.perf_counter() - wall_start)
                cpu[name].append(time.process_time() - cpu_start)
    print(f"\n{'':10s} {'median lines/s':>15s} {'CPU s / 1k lines':>17s}")
    for name in names:
        print(f"{name:10s} {len(lines) / statistics.median(wall[name]):15,.0f} "
              f"{1000 * statistics.median(cpu[name]) / len(lines):17.4f}")
    for name in ("ours", "ours-tflite"):
        ratios = [wall["hf"][i] / wall[name][i] for i in range(args.rounds)]
        print(f"{name}/hf: median per-round speed ratio {statistics.median(ratios):.2f}x "
              f"(min {min(ratios):.2f}, max {max(ratios):.2f}); "
              f"CPU-time ratio {statistics.median(cpu['hf']) / statistics.median(cpu[name]):.2f}x")


if __name__ == "__main__":
    main()
