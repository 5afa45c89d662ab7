"""Generation speed: `BertEncoderDecoder.generate` (cached, one TF graph; and under XLA) against transformers'
`EncoderDecoderModel.generate` (torch, eager, its cache) on the same weights.

The model is a BERT2BERT of all-MiniLM-L6-v2's shape (6 layers, hidden 384, 12 heads, intermediate 1536,
vocabulary 30522) with random weights: transformers builds it (`EncoderDecoderModel` of two `BertConfig`s, the
decoder with cross-attention, eager attention), saves it with `save_pretrained`, and both load that folder
(ours with `kbz.load`). Sources are 128 tokens (row 0 full, the others padded to random lengths >= 64); every
run makes exactly 32 new tokens (max_length 33 = min_length, so no end token comes early). Before timing, each
variant's ids are compared with transformers'.

Threads must be set before TensorFlow and torch start, so the timing runs in a fresh worker process: torch
2 threads, TensorFlow 2 intra-op and 1 inter-op threads. Inside it the variants are timed interleaved,
round-robin, the order rotated each round, so that load from other processes hits them alike. Reported: best
and median new tokens/s (batch x 32 / seconds per call), the ratios ours / torch, and the 1-minute load
average as each setting's rounds start.

    python benchmarks/generate.py                          # batch 1 and 16, greedy and beam 4 (about 6 min)
    python benchmarks/generate.py --batch-sizes 1 --beams 1 --rounds 2 --markdown
"""

import os
import sys

from table import print_table  # benchmarks/table.py: before benchmarks/ leaves sys.path below

if sys.path and os.path.abspath(sys.path[0] or os.curdir) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]  # a sibling file named like a stdlib module must not shadow it for torch/TF

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

SHAPE = dict(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
             intermediate_size=1536)
SOURCE, NEW_TOKENS = 128, 32
START, END, PAD = 101, 102, 0  # [CLS], [SEP], [PAD] of BERT's vocabulary
VARIANTS = {
    "torch": "transformers EncoderDecoderModel.generate, torch.no_grad(), eager attention",
    "ours": "BertEncoderDecoder.generate: one tf.function (while loop, cached)",
    "ours+xla": "BertEncoderDecoder.generate(jit_compile=True)",
}


def make_checkpoint(path):
    """A random BERT2BERT of MiniLM-L6's shape, saved by transformers (torch only; TF is not loaded here)."""
    import torch
    import transformers

    transformers.utils.logging.disable_progress_bar()
    torch.manual_seed(0)
    encoder = transformers.BertConfig(**SHAPE, attn_implementation="eager")
    decoder = transformers.BertConfig(**SHAPE, is_decoder=True, add_cross_attention=True,
                                      attn_implementation="eager")
    config = transformers.EncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    transformers.EncoderDecoderModel(config).save_pretrained(path)


def sources(batch, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, SHAPE["vocab_size"], (batch, SOURCE)).astype("int32")
    mask = np.zeros((batch, SOURCE), "int32")
    for row in range(batch):
        mask[row, :SOURCE if row == 0 else int(rng.integers(SOURCE // 2, SOURCE + 1))] = 1
    ids[0, 0] = START
    return {"encoder_token_ids": ids * mask, "encoder_padding_mask": mask}


def worker(spec):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import numpy as np
    import torch
    import transformers

    import keras_bert_zoo as kbz

    torch.set_num_threads(2)
    transformers.utils.logging.disable_progress_bar()
    theirs = transformers.EncoderDecoderModel.from_pretrained(spec["folder"]).eval()
    ours = kbz.load(spec["folder"])
    settings = dict(max_length=NEW_TOKENS + 1, min_length=NEW_TOKENS + 1)
    tokens = dict(start_token_id=START, end_token_id=END, pad_token_id=PAD)
    rows = []
    for beams in spec["beams"]:
        for batch in spec["batch_sizes"]:
            x = sources(batch)
            x_pt = {"input_ids": torch.tensor(x["encoder_token_ids"], dtype=torch.long),
                    "attention_mask": torch.tensor(x["encoder_padding_mask"], dtype=torch.long)}

            def run_torch():
                with torch.no_grad():
                    return theirs.generate(**x_pt, **settings, num_beams=beams, decoder_start_token_id=START,
                                           eos_token_id=END, pad_token_id=PAD).numpy()

            fns = {"torch": run_torch}
            for name in ("ours", "ours+xla"):
                fns[name] = (lambda jit: lambda: ours.generate(x, **settings, num_beams=beams, jit_compile=jit,
                                                               **tokens))(name.endswith("xla"))
            info = {}
            reference = None
            for name, fn in fns.items():
                start = time.perf_counter()
                ids = fn()  # tracing / compiling; its ids are checked
                first = time.perf_counter() - start
                reference = ids if reference is None else reference
                same = ids.shape == reference.shape and bool((ids == reference).all())
                info[name] = {"first_call_s": first, "shape": list(ids.shape), "same_ids": same}
                print(f"b{batch} beams {beams} {name:9s} first call {first:5.1f}s, ids {ids.shape}, "
                      f"equal to torch's: {same}", flush=True)
            load = os.getloadavg()[0]
            wall = {name: [] for name in fns}
            order = list(fns)
            for round_ in range(spec["rounds"]):
                shift = round_ % len(order)
                for name in order[shift:] + order[:shift]:
                    start = time.perf_counter()
                    fns[name]()
                    wall[name].append(time.perf_counter() - start)
            for name in fns:
                made = batch * NEW_TOKENS
                rows.append(dict(batch=batch, beams=beams, variant=name, load=load, **info[name],
                                 best=made / min(wall[name]), median=made / statistics.median(wall[name])))
                print(f"b{batch} beams {beams} {name:9s} best {rows[-1]['best']:7.1f} tokens/s, median "
                      f"{rows[-1]['median']:7.1f}", flush=True)
    versions = (f"tensorflow {tf.__version__}, torch {torch.__version__}, transformers {transformers.__version__}, "
                f"numpy {np.__version__}")
    Path(spec["out"]).write_text(json.dumps({"rows": rows, "versions": versions}))


HEADER = ("batch", "beams", "variant", "best tok/s", "median tok/s", "ratio best", "ratio median", "load",
          "ids = torch's", "1st call s")


def table_rows(rows):
    out = []
    for row in rows:
        torch_row = next(r for r in rows if (r["batch"], r["beams"], r["variant"]) ==
                         (row["batch"], row["beams"], "torch"))
        out.append((row["batch"], row["beams"], row["variant"], f"{row['best']:.1f}", f"{row['median']:.1f}",
                    f"{row['best'] / torch_row['best']:.2f}", f"{row['median'] / torch_row['median']:.2f}",
                    f"{row['load']:.1f}", "yes" if row["same_ids"] else "NO", f"{row['first_call_s']:.1f}"))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", default="1,16", help="comma list (default 1,16)")
    parser.add_argument("--beams", default="1,4", help="comma list of num_beams (default 1,4; 1 = greedy)")
    parser.add_argument("--rounds", type=int, default=3, help="timed calls per variant (default 3)")
    parser.add_argument("--markdown", action="store_true", help="also print the table as markdown")
    parser.add_argument("--_worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._worker:
        return worker(json.loads(args._worker))
    start = time.perf_counter()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"model: BERT2BERT {SHAPE}, random weights; source {SOURCE} tokens; {NEW_TOKENS} new tokens")
    for name, description in VARIANTS.items():
        print(f"  {name:9s} {description}")
    with tempfile.TemporaryDirectory(prefix="kbz_generate_") as root:
        make_checkpoint(root)
        spec = {"folder": root, "out": str(Path(root) / "result.json"), "rounds": args.rounds,
                "batch_sizes": [int(b) for b in args.batch_sizes.split(",")],
                "beams": [int(b) for b in args.beams.split(",")]}
        load_before = os.getloadavg()[0]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        subprocess.run([sys.executable, __file__, "--_worker", json.dumps(spec)], env=env, check=True)
        result = json.loads(Path(spec["out"]).read_text())
    print(f"\nversions: {result['versions']}; torch 2 threads, TF intra 2 / inter 1; "
          f"1-min loadavg {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    rows = table_rows(result["rows"])
    print_table(HEADER, rows)
    if args.markdown:
        print()
        print_table(HEADER, rows, markdown=True)
    print(f"\ntotal {time.perf_counter() - start:.0f}s. ratio = ours / torch new tokens per second (> 1: ours "
          "faster).")


if __name__ == "__main__":
    main()
