"""Fine-tuning throughput: keras_bert_zoo's BertClassifier under model.fit vs a transformers + torch loop.

Both train a 2-class sequence classifier, fp32 on the CPU, batches of 32 (case "128": 128 tokens wide;
case "sst2": the lengths of 32 random SST-2 sentences, padded to the batch's longest row, as the main
job's peer pads them), from the SAME weights: an HF folder that torch loads with
`BertForSequenceClassification.from_pretrained` and ours with `kbz.load(path, model_class="backbone")`
(MiniLM-L6: the installed all-MiniLM-L6-v2 weights; BERT-base: a random-init HF `BertModel` of BERT-base
shape written to a temporary folder). torch's random classifier weights are copied into our `logits` layer,
and the eval-mode logits of both are checked to agree (max abs diff <= 1e-4) before anything is timed.
Both sides train alike: dropout 0.1, AdamW (lr 2e-5, weight decay 0.01 off biases and LayerNorm), warmup +
linear decay, global-norm clipping at 1.0, sparse cross-entropy on logits. Variants:

  torch     model.train(); loss.backward(); clip_grad_norm_; torch.optim.AdamW(fused=True) step; scheduler step
  fit       BertClassifier.compile(create_optimizer(..., global_clipnorm=1.0), jit_compile=False); fit
  fit+xla   the same with jit_compile=True (XLA compiles the whole train step)

Thread counts are fixed before TensorFlow starts: `--threads N` (default: all cores) sets
torch.set_num_threads / set_num_interop_threads and TF's intra- and inter-op pools to N. Each variant
warms up (tracing / XLA compilation), then the variants are timed interleaved, round-robin with the
order rotated every round, so that load from other processes hits them alike. One sample is one round
of --steps steps (ours: one `model.fit(steps_per_epoch=steps)` call). Reported: best and median
steps/s over the rounds and ours/torch ratios of each.

    python benchmarks/train_step.py                  # both models, defaults: ~15-20 min on 2 quiet cores (estimate)
    python benchmarks/train_step.py --models minilm-l6 --steps 2 --rounds 1 --warmup 1   # smoke run
    python benchmarks/train_step.py --models bert-base --variants fit     # BERT-base, one variant beside torch

BERT-base holds torch's model and each of ours with AdamW state and activations in one process: all three
went past 18 GiB here (23 GiB machine), so run its variants one per process, each against its own torch.
"""

import os
import sys

from table import print_table  # benchmarks/table.py: before benchmarks/ leaves sys.path below

# Run as a script, Python puts benchmarks/ first on sys.path, where a sibling file named like a
# stdlib module would shadow it for torch/TF. Drop that entry.
if sys.path and os.path.abspath(sys.path[0] or os.curdir) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse
import itertools
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing downloads

MODELS = {"minilm-l6": "installed all-MiniLM-L6-v2 weights (L6 H384 A12 I1536)",
          "bert-base": "random weights, BERT-base shape (L12 H768 A12 I3072)"}
VARIANTS = ("torch", "fit", "fit+xla")
NUM_CLASSES, LEARNING_RATE, WEIGHT_DECAY, CLIP_NORM = 2, 2e-5, 0.01, 1.0
NUM_BATCHES = 8  # distinct batches, cycled through by every variant
SST2 = Path(__file__).resolve().parents[1] / "recipes" / "data" / "sst2" / "train.tsv"
TOLERANCE = 1e-4


def set_threads(threads):
    """Same thread count for torch and TensorFlow; must run before TensorFlow executes anything."""
    import tensorflow as tf
    import torch

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(threads)
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def bert_base_folder(root):
    """A random-init HF BertModel of BERT-base shape saved with save_pretrained (both sides load it)."""
    import torch
    import transformers

    config = transformers.BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                                     num_attention_heads=12, intermediate_size=3072)
    torch.manual_seed(0)
    path = Path(root) / "bert-base"
    transformers.BertModel(config).save_pretrained(path)
    return path


def checkpoint_folder(name, root):
    import keras_bert_zoo as kbz

    return kbz.preset_weights.find("all_minilm_l6_v2").folder if name == "minilm-l6" else bert_base_folder(root)


def sst2_lengths(path):
    """Wordpieces (with [CLS] and [SEP]) of each sentence of the shipped SST-2 train sample, by the HF tokenizer."""
    import csv

    import transformers

    with open(SST2, newline="", encoding="utf-8") as f:
        texts = [row["sentence"] for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    return [len(ids) for ids in tokenizer(texts, truncation=True, max_length=128)["input_ids"]]


def make_batches(case, batch, vocabulary_size, path, seed=0):
    """NUM_BATCHES (inputs, labels) batches of numpy arrays, the same for every variant.

    `case` "128": every batch 128 wide, row 0 full, the others 64-128 tokens. "sst2": the lengths of `batch`
    random SST-2 sentences, the batch padded to its longest row, as `DataCollatorWithPadding` pads.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    if case == "sst2":
        pool = np.asarray(sst2_lengths(path))
        lengths = [rng.choice(pool, size=batch) for _ in range(NUM_BATCHES)]
    else:
        lengths = [np.concatenate([[128], rng.integers(64, 129, size=batch - 1)]) for _ in range(NUM_BATCHES)]
    batches = []
    for rows in lengths:
        positions = np.arange(rows.max())
        padding_mask = (positions < rows[:, None]).astype("int32")
        token_ids = rng.integers(1, vocabulary_size, size=padding_mask.shape).astype("int32") * padding_mask
        segment_ids = ((positions >= rows[:, None] // 2) * padding_mask).astype("int32")
        labels = rng.integers(0, NUM_CLASSES, size=batch).astype("int32")
        batches.append(({"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}, labels))
    return batches


def torch_trainer(path, batches, total_steps):
    """(model, one round of `steps` training steps) for transformers' BertForSequenceClassification."""
    import torch
    import transformers

    model = transformers.BertForSequenceClassification.from_pretrained(path, num_labels=NUM_CLASSES)
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=LEARNING_RATE, eps=1e-6,
                                  fused=True)  # as Trainer picks it
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, total_steps // 10, total_steps)
    inputs = [{"input_ids": torch.tensor(x["token_ids"], dtype=torch.long),
               "token_type_ids": torch.tensor(x["segment_ids"], dtype=torch.long),
               "attention_mask": torch.tensor(x["padding_mask"], dtype=torch.long),
               "labels": torch.tensor(y, dtype=torch.long)} for x, y in batches]
    position = [0]

    def train(steps):
        model.train()
        for _ in range(steps):
            loss = model(**inputs[position[0] % NUM_BATCHES]).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            position[0] += 1

    return model, train


def our_trainer(path, torch_model, batches, total_steps, jit_compile):
    """(model, one round of `steps` steps) for kbz.BertClassifier, its head set to torch's weights."""
    import keras
    import tensorflow as tf

    import keras_bert_zoo as kbz

    model = kbz.BertClassifier(kbz.load(path, model_class="backbone"), num_classes=NUM_CLASSES)
    head = torch_model.classifier
    model.get_layer("logits").set_weights([head.weight.detach().numpy().T, head.bias.detach().numpy()])
    optimizer = kbz.training.create_optimizer(LEARNING_RATE, total_steps, total_steps // 10,
                                              weight_decay=WEIGHT_DECAY, clipnorm=None, global_clipnorm=CLIP_NORM)
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit_compile)
    spec = ({name: tf.TensorSpec([None, None], tf.int32) for name in batches[0][0]}, tf.TensorSpec([None], tf.int32))
    data = tf.data.Dataset.from_generator(lambda: itertools.cycle(batches), output_signature=spec).prefetch(2)

    def train(steps):
        model.fit(data, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)

    return model, train


def max_logit_diff(ours, torch_model, batches):
    """Max |ours - torch| eval-mode logits on the first batch: the same weights give the same outputs."""
    import numpy as np
    import torch

    x = batches[0][0]
    torch_model.eval()
    with torch.no_grad():
        expected = torch_model(input_ids=torch.tensor(x["token_ids"], dtype=torch.long),
                               token_type_ids=torch.tensor(x["segment_ids"], dtype=torch.long),
                               attention_mask=torch.tensor(x["padding_mask"], dtype=torch.long)).logits.numpy()
    return float(np.abs(np.asarray(ours(x, training=False)) - expected).max())


def bench_model(name, path, case, args):
    """Builds, checks, warms up and times every variant of one model on one case; returns table rows."""
    batches = make_batches(case, args.batch_size, 30522, path)
    total_steps = args.warmup + args.steps * args.rounds
    torch_model, torch_train = torch_trainer(path, batches, total_steps)
    trainers, notes = {"torch": torch_train}, {"torch": f"threads {args.threads}"}
    for variant in args.variants:
        ours, trainers[variant] = our_trainer(path, torch_model, batches, total_steps,
                                              jit_compile=variant == "fit+xla")
        diff = max_logit_diff(ours, torch_model, batches)
        if diff > TOLERANCE:
            raise AssertionError(f"{name} {variant}: logits differ from torch's by {diff:.1e} > {TOLERANCE}")
        notes[variant] = f"logits diff {diff:.1e}"
    for variant, train in trainers.items():
        start = time.perf_counter()
        train(args.warmup)
        notes[variant] += f"; warm-up {time.perf_counter() - start:.0f}s"
        print(f"{name} {variant:8s} {notes[variant]}", flush=True)

    samples = {variant: [] for variant in trainers}
    order = list(trainers)
    for round_ in range(args.rounds):
        shift = round_ % len(order)
        for variant in order[shift:] + order[:shift]:
            start = time.perf_counter()
            trainers[variant](args.steps)
            samples[variant].append(args.steps / (time.perf_counter() - start))
        print(f"{name} round {round_ + 1}: " + ", ".join(f"{v} {s[-1]:.3f}" for v, s in samples.items()),
              flush=True)
    best = {variant: max(s) for variant, s in samples.items()}
    median = {variant: statistics.median(s) for variant, s in samples.items()}
    return [(name, case, variant, f"{best[variant]:.3f}", f"{median[variant]:.3f}",
             "-" if variant == "torch" else f"{best[variant] / best['torch']:.2f}",
             "-" if variant == "torch" else f"{median[variant] / median['torch']:.2f}", notes[variant])
            for variant in trainers]


HEADER = ("model", "case", "variant", "best steps/s", "median steps/s", "ratio best", "ratio median", "notes")






def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma list of {', '.join(MODELS)}")
    parser.add_argument("--variants", default="fit,fit+xla",
                        help="comma list of our variants timed against torch (always run): fit, fit+xla. "
                             "BERT-base needs one per process on a machine under ~32 GiB")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cases", default="128,sst2",
                        help="comma list: 128 (every batch 128 wide), sst2 (SST-2 sentence lengths, each batch "
                             "padded to its longest row, as the main job's peer pads)")
    parser.add_argument("--steps", type=int, default=5, help="training steps per timed round")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per variant")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per variant first (tracing, XLA)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="torch threads and TF intra/inter-op threads (default: all cores)")
    parser.add_argument("--markdown", action="store_true", help="also print the table as markdown")
    args = parser.parse_args(argv)
    models = args.models.split(",")
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    args.variants = args.variants.split(",")
    if not set(args.variants) <= set(VARIANTS[1:]):
        parser.error(f"unknown variant(s) in {args.variants}; choose from {list(VARIANTS[1:])}")
    args.cases = args.cases.split(",")
    if not set(args.cases) <= {"128", "sst2"}:
        parser.error(f"unknown case(s) in {args.cases}; choose from 128, sst2")
    if min(args.steps, args.rounds, args.warmup, args.threads, args.batch_size) < 1:
        parser.error("--steps, --rounds, --warmup, --threads and --batch-size must be >= 1")

    set_threads(args.threads)
    import keras
    import tensorflow as tf
    import torch
    import transformers

    transformers.logging.set_verbosity_error()  # the expected "classifier weights newly initialized" report
    transformers.logging.disable_progress_bar()

    start = time.perf_counter()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {os.cpu_count()} CPU cores; 1-min loadavg {os.getloadavg()[0]:.1f}")
    print(f"versions: tensorflow {tf.__version__}, keras {keras.__version__}, torch {torch.__version__}, "
          f"transformers {transformers.__version__}")
    print(f"batch {args.batch_size}, cases {', '.join(args.cases)}, fp32; {args.warmup} warm-up steps, then "
          f"{args.rounds} rounds of {args.steps} steps per variant; {args.threads} threads")
    rows = []
    with tempfile.TemporaryDirectory(prefix="kbz_train_bench_") as root:
        for name in models:
            folder = checkpoint_folder(name, root)  # BERT-base: a 440 MB save, once for all cases
            for case in args.cases:
                rows += bench_model(name, folder, case, args)
    print()
    print_table(HEADER, rows)
    if args.markdown:
        print()
        print_table(HEADER, rows, markdown=True)
    print(f"\ntotal {time.perf_counter() - start:.0f}s; 1-min loadavg {os.getloadavg()[0]:.1f}. "
          "ratio = ours/torch steps/s (>1: ours faster).")


if __name__ == "__main__":
    main()
