"""BERTSum's sentence selection on the held-out BBC articles: with and without trigram blocking, against Lead-3.

Loads a model trained by `recipes/summarize_extractive.py` (its `--model-dir`/last.keras), rebuilds the recipe's
test split (same data file, seed and sizes) and scores the model's top 3 sentences with and without trigram
blocking, and Lead-3, with ROUGE F (rouge-score, stemmed). Prints how many articles' picks are sentences 0-2, and
a paired bootstrap (10,000 resamples of the test articles) of the ROUGE-2 difference between the model without
blocking and Lead-3.

    python benchmarks/extractive_selection.py --model runs/summarize_extractive/last.keras
"""

import argparse


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a summarize_extractive run's last.keras")
    parser.add_argument("--sequence-length", type=int, default=256, help="as the run was trained")
    args = parser.parse_args()

    import keras
    import numpy as np

    from keras_bert_zoo.data.summarization import pad_documents, read_articles, split_articles, summarization_dataset
    from keras_bert_zoo.data.summarization_oracle import rouge, select_sentences
    from keras_bert_zoo.tasks import summarize_extractive

    model = keras.saving.load_model(args.model)
    recipe = summarize_extractive.parser().parse_args([])
    _, _, test, _ = split_articles(read_articles(recipe.data_file), recipe.seed, recipe.dev_size, recipe.test_size)
    documents, sentences = summarize_extractive.featurize(test, model.preprocessor, args.sequence_length)
    inputs = pad_documents(documents, args.sequence_length, pad_id=model.preprocessor.tokenizer.pad_id)
    logits = model.predict(summarization_dataset(inputs, np.zeros(inputs["sentence_mask"].shape), 8), verbose=0)
    scores = {}
    for name, blocking in (("blocking", True), ("no blocking", False)):
        picks = [select_sentences(row[:d.num_sentences], s[:d.num_sentences], 3, blocking)
                 for row, d, s in zip(logits, documents, sentences)]
        scores[name] = [rouge(" ".join(s[i] for i in pick), row["summary"]) for pick, s, row in
                        zip(picks, sentences, test)]
        print(f"{name:>12}: picks are sentences 0-2 in {sum(pick == [0, 1, 2] for pick in picks)} of {len(test)}")
    scores["Lead-3"] = [rouge(" ".join(s[:3]), row["summary"]) for s, row in zip(sentences, test)]
    for name, rows in scores.items():
        print(f"{name:>12}: " + "  ".join(f"{key} {np.mean([r[key] for r in rows]):.4f}" for key in rows[0]))
    difference = np.array([a["rouge2"] - b["rouge2"] for a, b in zip(scores["no blocking"], scores["Lead-3"])])
    rng = np.random.default_rng(0)
    means = np.array([difference[rng.integers(0, len(difference), len(difference))].mean() for _ in range(10000)])
    print(f"ROUGE-2, no blocking - Lead-3: {difference.mean():+.4f}; higher in {(difference > 0).sum()}, lower in "
          f"{(difference < 0).sum()} articles; bootstrap 95% interval [{np.percentile(means, 2.5):+.4f}, "
          f"{np.percentile(means, 97.5):+.4f}], {np.mean(means <= 0):.1%} of resamples at or below 0")


if __name__ == "__main__":
    main()
