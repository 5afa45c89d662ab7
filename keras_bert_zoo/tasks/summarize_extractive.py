"""Fine-tune BERTSum (Liu & Lapata 2019) for extractive summarization and score it with ROUGE.

With no arguments it fine-tunes the real all-MiniLM-L6-v2 on the BBC News Summary articles shipped in
recipes/data/bbc_news_summary (duplicate article texts dropped, then a seeded split by article into
train/dev/test), on greedy ROUGE-oracle labels (at most --label-sentences per article), and prints ROUGE-1/2/L
F (rouge-score, stemmed) on the held-out test articles for the model (top --summary-sentences, with Liu & Lapata's
trigram blocking if it scores higher on the dev articles), Lead-N and the oracle (unlimited greedy), last.

Each article is packed as "[CLS] headline [SEP] [CLS] s1 [SEP] [CLS] s2 [SEP] ..." up to --sequence-length:
the headline is context, never selected (the reference summaries never contain it); the sentences that do
not fit whole are left out of the model's choice (the oracle and Lead-N see them all).

    python recipes/summarize_extractive.py          # or: keras-bert-zoo train summarize_extractive
    python recipes/summarize_extractive.py --max-train-examples 800 --epochs 2   # a 3-minute run
"""

from pathlib import Path

from keras_bert_zoo.quiet import import_tensorflow

import_tensorflow()  # without its start-up log lines (KERAS_BERT_ZOO_VERBOSE=1 shows them)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_bert_zoo.data.summarization import (  # noqa: E402
    article_headline,
    article_sentences,
    pack_sentences,
    pad_documents,
    read_articles,
    split_articles,
    summarization_dataset,
)
from keras_bert_zoo.data.summarization_oracle import (  # noqa: E402
    mean_rouge,
    oracle_selection,
    rouge_line,
    select_sentences,
)
from keras_bert_zoo.models.extractive_summarizer import BertExtractiveSummarizer, sentence_loss  # noqa: E402
from keras_bert_zoo.training import runs  # noqa: E402
from keras_bert_zoo.training.progress import batch_progress  # noqa: E402

DATA = runs.shipped_data("bbc_news_summary")


def parser(prog=None):
    """The task's flags (`prog`: the command shown in its usage line, default the script's name)."""
    parser = runs.task_parser(__doc__, prog)
    parser.add_argument("--data-file", default=DATA / "bbc_news_summary.jsonl.gz", type=Path,
                        help='JSON lines (.jsonl or .jsonl.gz) of {"article", "summary"}; headline first')
    parser.add_argument("--dev-size", type=int, default=100, help="held-out articles for validation")
    parser.add_argument("--test-size", type=int, default=200, help="held-out articles for the ROUGE scores")
    parser.add_argument("--summary-sentences", type=int, default=3, help="sentences the model and Lead-N pick")
    parser.add_argument("--trigram-blocking", choices=("dev", "on", "off"), default="dev",
                        help="skip a sentence that repeats a chosen one's trigram (Liu & Lapata, for CNN/DM); "
                             "dev: on or off, whichever scores the higher ROUGE-2 on the dev articles")
    parser.add_argument("--label-sentences", type=int, default=3,
                        help="the most sentences the greedy oracle labels 1 for training (0: until none raises "
                             "ROUGE; Liu & Lapata's code stops at 3)")
    # CPU: the whole default run (all 1,827 training articles of 256 wordpieces, 3 epochs) took 8:55 wall on 2 idle
    # cores; 800 articles x 2 epochs (3:04) stay below Lead-3 (RESULTS.md).
    runs.add_common_flags(parser, checkpoint="all_minilm_l6_v2", model_dir="runs/summarize_extractive",
                          export_dir="saved_models/summarize_extractive", learning_rate=1e-4, batch_size=8,
                          sequence_length=256, epochs=3)
    return parser


def featurize(rows, preprocessor, sequence_length):
    """(packed documents, each row's sentences): the articles packed whole sentence by whole sentence after
    their headline (context: the reference summaries share many of its words)."""
    sentences = [article_sentences(row["article"]) for row in rows]
    return [pack_sentences(s, preprocessor, sequence_length, headline=article_headline(row["article"]))
            for s, row in zip(sentences, rows)], sentences


def oracle_labels(documents, sentences, rows, max_sentences=None):
    """Float32 [documents, sentences] 1/0: the greedy oracle (at most `max_sentences`) over the sentences that
    were packed."""
    labels = np.zeros((len(documents), max(document.num_sentences for document in documents)), "float32")
    for row, (document, article, data) in enumerate(zip(documents, sentences, rows)):
        labels[row, oracle_selection(article[:document.num_sentences], data["summary"], max_sentences)] = 1
    return labels


def main(argv=None, prog=None):
    """Trains and evaluates as the flags in `argv` (default: the command line's) say."""
    args = parser(prog).parse_args(argv)
    strategy = runs.configure(args, "--data-file")

    # 1. Data: distinct articles split by article; oracle labels over the sentences that fit the sequence.
    try:
        train, dev, test, duplicates = split_articles(read_articles(args.data_file), args.seed, args.dev_size,
                                                      args.test_size)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    print(f"data: {duplicates} duplicate articles dropped; {len(train):,} train, {len(dev):,} dev, "
          f"{len(test):,} test articles", flush=True)
    train = train[:args.max_train_examples or len(train)]
    with strategy.scope():
        encoder, preprocessor = runs.load_encoder_and_preprocessor(args.checkpoint, args.sequence_length,
                                                                 random_init=args.random_init)
    pad_id = preprocessor.tokenizer.pad_id
    splits = {}
    for name, rows in (("train", train), ("dev", dev), ("test", test)):
        documents, sentences = featurize(rows, preprocessor, args.sequence_length)
        splits[name] = (pad_documents(documents, args.sequence_length, pad_id=pad_id),
                        oracle_labels(documents, sentences, rows, args.label_sentences or None), documents,
                        sentences)
    kept = np.mean([d.num_sentences / len(s) for d, s in zip(splits["test"][2], splits["test"][3])])
    print(f"packing: {args.sequence_length} wordpieces hold {kept:.1%} of a test article's sentences on average; "
          f"training on {len(train):,} articles", flush=True)

    # 2. Model: [CLS] vector of each sentence -> inter-sentence transformer -> one logit per sentence.
    steps = runs.steps_per_epoch(len(train), args.batch_size)
    with strategy.scope():
        model = BertExtractiveSummarizer(encoder, preprocessor=preprocessor)
        # Sentence precision and recall at logit 0 (probability 0.5): a padded slot (label 0, logit
        # MASKED_LOGIT) counts in neither, where an accuracy would count it as right.
        runs.compile(model, args, steps, loss=sentence_loss,
                     metrics=[keras.metrics.Precision(thresholds=0.0, name="precision"),
                              keras.metrics.Recall(thresholds=0.0, name="recall")])

    # 3. Train (resumable: rerun the same command after a kill).
    train_inputs, train_labels = splits["train"][:2]
    dev_ds = summarization_dataset(*splits["dev"][:2], args.batch_size)
    runs.fit(model, args, lambda seed: summarization_dataset(train_inputs, train_labels, args.batch_size,
                                                             shuffle=True, seed=seed),
             steps, validation_data=dev_ds)
    runs.save_run_info(args.model_dir)
    runs.finish(args.model_dir)

    # 4. Evaluate on the held-out test articles: the model's top sentences, Lead-N and the oracle.
    k = args.summary_sentences

    logits = {}

    def summaries(split, blocking):
        inputs, _, documents, sentences = splits[split]
        if split not in logits:
            logits[split] = model.predict(summarization_dataset(inputs, np.zeros(inputs["sentence_mask"].shape),
                                                                args.batch_size), verbose=0, callbacks=batch_progress())
        picks = [select_sentences(row_logits[:d.num_sentences], s[:d.num_sentences], k, blocking)
                 for row_logits, d, s in zip(logits[split], documents, sentences)]
        return [" ".join(s[i] for i in pick) for pick, s in zip(picks, sentences)]

    blocking = args.trigram_blocking == "on"
    if args.trigram_blocking == "dev":
        dev_references = [row["summary"] for row in dev]
        dev_rouge2 = {on: mean_rouge(summaries("dev", on), dev_references)["rouge2"] for on in (True, False)}
        blocking = dev_rouge2[True] >= dev_rouge2[False]
        print(f"trigram blocking {'on' if blocking else 'off'}: dev ROUGE-2 {dev_rouge2[True]:.4f} with it, "
              f"{dev_rouge2[False]:.4f} without", flush=True)
    print(f"evaluating on {len(test):,} test articles...", flush=True)
    sentences = splits["test"][3]
    references = [row["summary"] for row in test]
    results = {
        "model": mean_rouge(summaries("test", blocking), references),
        f"Lead-{k}": mean_rouge([" ".join(s[:k]) for s in sentences], references),
        "oracle": mean_rouge([" ".join(s[i] for i in oracle_selection(s, row["summary"]))
                              for s, row in zip(sentences, test)], references),
    }
    print(f"test: {len(test)} articles; ROUGE F (rouge-score, stemmed) against the reference summaries")
    for name, scores in results.items():
        print(rouge_line(name, scores))
    return results
