"""Fine-tuning throughput: keras_bert_zoo's BertClassifier under model.fit vs a transformers + torch loop.

Both train a 2-class sequence classifier, fp32 on the CPU, batch 32 x 128 tokens, from the SAME
weights: an HF folder that torch loads with `BertForSequenceClassification.from_pretrained` and ours
with `kbz.load(path, model_class="backbone")` (MiniLM-L6: the installed all-MiniLM-L6-v2 weights; BERT-base:
a random-init HF `BertModel` of BERT-base shape written to a temporary folder). torch's random
classifier weights are copied into our `logits` layer, and the eval-mode logits of both are checked to
agree (max abs diff <= 1e-4) before anything is timed. Both sides train alike: dropout 0.1, AdamW
(lr 2e-5, weight decay 0.01 off biases and LayerNorm), warmup + linear decay, global-norm clipping at
1.0, sparse cross-entropy on logits. Variants:

  torch     model.train(); loss.backward(); clip_grad_norm_; torch.optim.AdamW step; scheduler step
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
NUM_BATCHES = 4  # distinct batches, cycled through by every variant
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


def make_batches(seq_len, batch, vocabulary_size, seed=0):
    """NUM_BATCHES batches stacked on axis 0: row 0 of each full length, others padded to >= seq_len / 2."""
    import numpy as np

    rng = np.random.default_rng(seed)
    shape = (NUM_BATCHES, batch, seq_len)
    lengths = rng.integers(seq_len // 2, seq_len + 1, size=shape[:2])
    lengths[:, 0] = seq_len
    positions = np.arange(seq_len)
    padding_mask = (positions < lengths[..., None]).astype("int32")
    token_ids = rng.integers(1, vocabulary_size, size=shape).astype("int32") * padding_mask
    segment_ids = ((positions >= lengths[..., None] // 2) * padding_mask).astype("int32")
    labels = rng.integers(0, NUM_CLASSES, size=shape[:2]).astype("int32")
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}, labels


def torch_trainer(path, batches, labels, total_steps):
    """(model, one round of `steps` training steps) for transformers' BertForSequenceClassification."""
    import torch
    import transformers

    model = transformers.BertForSequenceClassification.from_pretrained(path, num_labels=NUM_CLASSES)
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=LEARNING_RATE, eps=1e-6)
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, total_steps // 10, total_steps)
    inputs = [{"input_ids": torch.tensor(batches["token_ids"][i], dtype=torch.long),
               "token_type_ids": torch.tensor(batches["segment_ids"][i], dtype=torch.long),
               "attention_mask": torch.tensor(batches["padding_mask"][i], dtype=torch.long),
               "labels": torch.tensor(labels[i], dtype=torch.long)} for i in range(NUM_BATCHES)]
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


def our_trainer(path, torch_model, batches, labels, total_steps, jit_compile):
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
    data = tf.data.Dataset.from_tensor_slices((batches, labels)).repeat()

    def train(steps):
        model.fit(data, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)

    return model, train


def max_logit_diff(ours, torch_model, batches):
    """Max |ours - torch| eval-mode logits on the first batch: the same weights give the same outputs."""
    import numpy as np
    import torch

    x = {k: v[0] for k, v in batches.items()}
    torch_model.eval()
    with torch.no_grad():
        expected = torch_model(input_ids=torch.tensor(x["token_ids"], dtype=torch.long),
                               token_type_ids=torch.tensor(x["segment_ids"], dtype=torch.long),
                               attention_mask=torch.tensor(x["padding_mask"], dtype=torch.long)).logits.numpy()
    return float(np.abs(np.asarray(ours(x, training=False)) - expected).max())


def bench_model(name, path, args):
    """Builds, checks, warms up and times every variant of one model; returns table rows."""
    batches, labels = make_batches(args.seq_len, args.batch_size, vocabulary_size=30522)
    total_steps = args.warmup + args.steps * args.rounds
    torch_model, torch_train = torch_trainer(path, batches, labels, total_steps)
    trainers, notes = {"torch": torch_train}, {"torch": f"threads {args.threads}"}
    for variant in args.variants:
        ours, trainers[variant] = our_trainer(path, torch_model, batches, labels, total_steps,
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
    return [(name, variant, f"{best[variant]:.3f}", f"{median[variant]:.3f}",
             "-" if variant == "torch" else f"{best[variant] / best['torch']:.2f}",
             "-" if variant == "torch" else f"{median[variant] / median['torch']:.2f}", notes[variant])
            for variant in trainers]


HEADER = ("model", "variant", "best steps/s", "median steps/s", "ratio best", "ratio median", "notes")






def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma list of {', '.join(MODELS)}")
    parser.add_argument("--variants", default="fit,fit+xla",
                        help="comma list of our variants timed against torch (always run): fit, fit+xla. "
                             "BERT-base needs one per process on a machine under ~32 GiB")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=128)
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
    if min(args.steps, args.rounds, args.warmup, args.threads, args.batch_size) < 1 or args.seq_len < 2:
        parser.error("--steps, --rounds, --warmup, --threads and --batch-size must be >= 1, --seq-len >= 2")

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
    print(f"batch {args.batch_size} x seq {args.seq_len}, fp32; {args.warmup} warm-up steps, then "
          f"{args.rounds} rounds of {args.steps} steps per variant; {args.threads} threads")
    rows = []
    with tempfile.TemporaryDirectory(prefix="kbz_train_bench_") as root:
        for name in models:
            rows += bench_model(name, checkpoint_folder(name, root), args)
    print()
    print_table(HEADER, rows)
    if args.markdown:
        print()
        print_table(HEADER, rows, markdown=True)
    print(f"\ntotal {time.perf_counter() - start:.0f}s; 1-min loadavg {os.getloadavg()[0]:.1f}. "
          "ratio = ours/torch steps/s (>1: ours faster).")


if __name__ == "__main__":
    main()
