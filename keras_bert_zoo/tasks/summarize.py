"""Fine-tune a BERT2BERT (Rothe et al. 2020) for abstractive summarization and score it with ROUGE.

With no arguments it warm-starts both halves of a `BertEncoderDecoder` from the real all-MiniLM-L6-v2 (the
cross-attention and the LM head's transform start random), fine-tunes it on the first --max-train-examples BBC
News Summary articles shipped in recipes/data/bbc_news_summary (the same deduplicated, seeded split by article
as summarize_extractive: train/dev/test), writes each held-out test article's summary with beam search (4 beams,
no repeated trigram, as BERTSumAbs decodes; --num-beams 1 is greedy) and prints ROUGE-1/2/L F (rouge-score,
stemmed) of Lead-3 and of the model, the model's last. The export decodes the same way by default.

The encoder reads the article (headline first) cut at --sequence-length wordpieces; the decoder learns the
reference summary cut at --target-length wordpieces (with [CLS] and [SEP]) and writes at most as many.

    python recipes/summarize.py          # or: keras-bert-zoo train summarize
    python recipes/summarize.py --max-train-examples 1827 --epochs 3 --sequence-length 512 --target-length 256
"""

from pathlib import Path

from keras_bert_zoo.quiet import import_tensorflow

import_tensorflow()  # without its start-up log lines (KERAS_BERT_ZOO_VERBOSE=1 shows them)


from keras_bert_zoo.data.seq2seq import ParallelTexts, seq2seq_dataset  # noqa: E402
from keras_bert_zoo.data.summarization import article_sentences, read_articles, split_articles  # noqa: E402
from keras_bert_zoo.data.summarization_oracle import mean_rouge, rouge_line  # noqa: E402
from keras_bert_zoo.models.encoder_decoder.model import BertEncoderDecoder  # noqa: E402
from keras_bert_zoo.tasks.seq2seq import (  # noqa: E402
    SmoothedCrossEntropy,
    add_decoding_flags,
    decoding_options,
    export_generator,
    generate_texts,
)
from keras_bert_zoo.training import runs  # noqa: E402

DATA = runs.shipped_data("bbc_news_summary")


def parser(prog=None):
    """The task's flags (`prog`: the command shown in its usage line, default the script's name)."""
    parser = runs.task_parser(__doc__, prog)
    parser.add_argument("--data-file", default=DATA / "bbc_news_summary.jsonl.gz", type=Path,
                        help='JSON lines (.jsonl or .jsonl.gz) of {"article", "summary"}; headline first')
    parser.add_argument("--dev-size", type=int, default=100, help="held-out articles for validation")
    parser.add_argument("--test-size", type=int, default=200, help="held-out articles for the ROUGE scores")
    parser.add_argument("--max-test-examples", type=int, help="summarize only the first N test articles")
    parser.add_argument("--target-length", type=int, default=128,
                        help="most wordpieces of [CLS] summary [SEP], learnt and written")
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--lead-sentences", type=int, default=3, help="sentences of the Lead-N baseline")
    add_decoding_flags(parser, num_beams=4, no_repeat_ngram_size=3)  # as BERTSumAbs decodes (beams, trigram blocking)
    runs.add_common_flags(parser, checkpoint="all_minilm_l6_v2", model_dir="runs/summarize",
                          export_dir="saved_models/summarize", learning_rate=1e-4, batch_size=8,
                          sequence_length=256, epochs=1)
    parser.set_defaults(max_train_examples=400)
    return parser


def as_pairs(rows):
    """`ParallelTexts` of (article, summary)."""
    return ParallelTexts([row["article"] for row in rows], [row["summary"] for row in rows])


def main(argv=None, prog=None):
    """Trains and evaluates as the flags in `argv` (default: the command line's) say."""
    args = parser(prog).parse_args(argv)
    strategy = runs.configure(args, "--data-file")

    # 1. Data: the distinct articles split by article, as summarize_extractive splits them.
    try:
        train, dev, test, duplicates = split_articles(read_articles(args.data_file), args.seed, args.dev_size,
                                                      args.test_size)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    train = as_pairs(train[:args.max_train_examples or len(train)])
    dev, test = as_pairs(dev), as_pairs(test[:args.max_test_examples or len(test)])
    print(f"data: {duplicates} duplicate articles dropped; {len(train):,} train, {len(dev):,} dev, "
          f"{len(test):,} test articles", flush=True)

    # 2. Model: BERT2BERT, both halves from the checkpoint.
    steps = runs.steps_per_epoch(len(train), args.batch_size)
    with strategy.scope():
        encoder, preprocessor = runs.load_encoder_and_preprocessor(args.checkpoint, args.sequence_length,
                                                                 random_init=args.random_init)
        model = BertEncoderDecoder.from_encoder(encoder)
        model.preprocessor = preprocessor
        runs.compile(model, args, steps, loss=SmoothedCrossEntropy(args.label_smoothing))
    tokenizer = preprocessor.tokenizer

    # 3. Train (resumable: rerun the same command after a kill).
    def dataset(examples, **options):
        return seq2seq_dataset(examples, preprocessor, args.batch_size, target_length=args.target_length,
                               bucket_by_sequence_length=True, **options)

    runs.fit(model, args, lambda seed: dataset(train, shuffle=True, seed=seed), steps,
             validation_data=dataset(dev, cache=True))

    # 4. Summarize the test articles (beam search); ROUGE against the reference summaries, beside Lead-N. Export.
    print(f"summarizing {len(test):,} test articles...", flush=True)
    summaries = generate_texts(model, preprocessor, tokenizer, test.sources, args.batch_size, args.target_length,
                               **decoding_options(args))
    lead = [" ".join(article_sentences(article)[:args.lead_sentences]) for article in test.sources]
    results = {f"Lead-{args.lead_sentences}": mean_rouge(lead, test.targets),
               "model": mean_rouge(summaries, test.targets)}
    card = runs.card_facts(args, argv, __file__, f"BBC News Summary: {len(train):,} training articles",
                           {f"test {key.upper()}": value for key, value in results["model"].items()}, prog)
    generation = {"max_length": args.target_length, **decoding_options(args)}
    runs.save_run_info(args.model_dir, export_dir=args.export_dir, card=card, generation=generation,
                       written_spacing=True)  # what the export below and `keras-bert-zoo export` of the run do
    export_generator(model, args.export_dir, tokenizer, card=card, **generation)
    runs.finish(args.model_dir)
    print(f"example: {summaries[0][:300]!r}")
    print(f"test: {len(test)} articles; ROUGE F (rouge-score, stemmed) against the reference summaries")
    for name, scores in results.items():
        print(rouge_line(name, scores))
    return results
