"""Train a BERT encoder-decoder from scratch to translate (Multi30k English -> German) and score it with BLEU.

No pretrained German-capable BERT is at hand, so the run learns one cased WordPiece vocabulary from the training
pairs of both languages (tensorflow-text's builder: `keras_bert_zoo.data.wordpiece_vocabulary`; kept in
--model-dir/vocab.txt for a restarted run), builds a small `BertEncoderDecoder` with random weights (tied
decoder input and output embeddings), trains it with label-smoothed cross-entropy, then translates the test
set greedily and prints its BLEU (sacrebleu, 13a tokenization, on detokenized text) last.

With no arguments it is a short run on the first --max-train-examples pairs; the full run, whose BLEU and time
benchmarks/RESULTS.md records:

    python recipes/translate.py          # or: keras-bert-zoo train translate
    python recipes/translate.py --max-train-examples 29000 --epochs 3
"""

from pathlib import Path

from keras_bert_zoo.quiet import import_tensorflow

import_tensorflow()  # without its start-up log lines (KERAS_BERT_ZOO_VERBOSE=1 shows them)

import sacrebleu  # noqa: E402

from keras_bert_zoo.data.seq2seq import read_parallel_text, seq2seq_dataset  # noqa: E402
from keras_bert_zoo.data.wordpiece_vocabulary import build_wordpiece_vocabulary, write_vocabulary  # noqa: E402
from keras_bert_zoo.models.bert.backbone import BertEncoder  # noqa: E402
from keras_bert_zoo.models.encoder_decoder.model import BertEncoderDecoder  # noqa: E402
from keras_bert_zoo.tasks.seq2seq import (  # noqa: E402
    SmoothedCrossEntropy,
    add_decoding_flags,
    decoding_options,
    export_generator,
    generate_texts,
)
from keras_bert_zoo.text.preprocessor import BertPreprocessor  # noqa: E402
from keras_bert_zoo.text.tokenizer import BertTokenizer  # noqa: E402
from keras_bert_zoo.training import runs  # noqa: E402

DATA = runs.shipped_data("multi30k")
VOCABULARY = "vocab.txt"


def parser(prog=None):
    """The task's flags (`prog`: the command shown in its usage line, default the script's name)."""
    parser = runs.task_parser(__doc__, prog)
    for split, default in (("train", "train"), ("dev", "val"), ("test", "test_2016_flickr")):
        parser.add_argument(f"--{split}-files", nargs=2, type=Path, metavar=("SOURCE", "TARGET"),
                            default=[DATA / f"{default}.en.gz", DATA / f"{default}.de.gz"],
                            help=f"line-aligned {split} texts (plain or .gz), source then target")
    parser.add_argument("--vocabulary-size", type=int, default=8000, help="most tokens of the joint vocabulary")
    parser.add_argument("--target-length", type=int, default=64, help="most tokens of [CLS] target [SEP]")
    parser.add_argument("--num-layers", type=int, default=3, help="encoder layers, and as many decoder layers")
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--num-heads", type=int, default=4)
    parser.add_argument("--intermediate-dim", type=int, default=1024)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--max-test-examples", type=int, help="translate only the first N test sentences")
    add_decoding_flags(parser)
    runs.add_common_flags(parser, checkpoint=None, model_dir="runs/translate", export_dir="saved_models/translate",
                          learning_rate=7e-4, batch_size=64, sequence_length=64, epochs=3)
    parser.set_defaults(max_train_examples=5000)
    return parser


def load_vocabulary(args, train):
    """The run's tokenizer: its vocab.txt in --model-dir if a killed run left one, else learnt from the
    training pairs of both languages."""
    path = Path(args.model_dir) / VOCABULARY
    if not path.is_file():
        print(f"vocabulary: learning {args.vocabulary_size:,} WordPiece tokens from {len(train):,} training "
              "pairs (both languages)...", flush=True)
        write_vocabulary(build_wordpiece_vocabulary(train.sources + train.targets, args.vocabulary_size), path)
    tokenizer = BertTokenizer(path, lowercase=False)  # cased: BLEU is, and German nouns are capitalized
    print(f"vocabulary: {tokenizer.vocabulary_size:,} tokens in {path}", flush=True)
    return tokenizer


def build_model(args, tokenizer):
    """A `BertEncoderDecoder` with random weights, as the flags size it; its preprocessor packs the sources."""
    encoder = BertEncoder(tokenizer.vocabulary_size, args.num_layers, args.num_heads, args.hidden_dim,
                          args.intermediate_dim, max_sequence_length=max(args.sequence_length, args.target_length),
                          dropout=args.dropout)
    preprocessor = BertPreprocessor(tokenizer, args.sequence_length, padding="longest")
    return BertEncoderDecoder(encoder, preprocessor=preprocessor)


def main(argv=None, prog=None):
    """Trains and evaluates as the flags in `argv` (default: the command line's) say."""
    args = parser(prog).parse_args(argv)
    if args.checkpoint is not None or args.random_init:
        raise SystemExit("error: translate trains a new model with its own vocabulary; it takes no --checkpoint "
                         "or --random-init (size it with --num-layers, --hidden-dim, ...).")
    strategy = runs.configure(args, "--train-files", "--dev-files", "--test-files")

    # 1. Data and vocabulary.
    try:
        train, dev, test = (read_parallel_text(*files) for files in (args.train_files, args.dev_files,
                                                                        args.test_files))
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    train = train.head(args.max_train_examples or None)
    test = test.head(args.max_test_examples or None)
    print(f"data: {len(train):,} train, {len(dev):,} dev, {len(test):,} test pairs", flush=True)
    tokenizer = load_vocabulary(args, train)

    # 2. Model: random weights, a joint vocabulary on both sides.
    steps = runs.steps_per_epoch(len(train), args.batch_size)
    with strategy.scope():
        model = build_model(args, tokenizer)
        runs.compile(model, args, steps, loss=SmoothedCrossEntropy(args.label_smoothing))
    print(f"model: {args.num_layers}+{args.num_layers} layers, hidden {args.hidden_dim}, "
          f"{model.count_params():,} parameters, random start", flush=True)

    # 3. Train (resumable: rerun the same command after a kill).
    def dataset(examples, **options):
        return seq2seq_dataset(examples, model.preprocessor, args.batch_size, target_length=args.target_length,
                               bucket_by_sequence_length=True, **options)

    runs.fit(model, args, lambda seed: dataset(train, shuffle=True, seed=seed), steps,
             validation_data=dataset(dev, cache=True))

    # 4. Translate the test set (greedy, or --num-beams); BLEU on the detokenized text. Export.
    print(f"translating {len(test):,} test sentences...", flush=True)
    hypotheses = generate_texts(model, model.preprocessor, tokenizer, test.sources, args.batch_size,
                                args.target_length, **decoding_options(args))
    bleu = sacrebleu.corpus_bleu(hypotheses, [test.targets])
    card = runs.card_facts(args, argv, __file__, f"Multi30k en-de: {len(train):,} training pairs",
                           {"test BLEU": bleu.score}, prog)
    generation = {"max_length": args.target_length, **decoding_options(args)}
    runs.save_run_info(args.model_dir, export_dir=args.export_dir, card=card, generation=generation,
                       written_spacing=True)  # what the export below and `keras-bert-zoo export` of the run do
    export_generator(model, args.export_dir, tokenizer, card=card, **generation)
    runs.finish(args.model_dir)
    print(f"example: {test.sources[0]!r} -> {hypotheses[0]!r}")
    print(f"test: {len(test):,} sentences, {bleu}")
    print(f"test BLEU: {bleu.score:.2f}")
    return bleu.score
