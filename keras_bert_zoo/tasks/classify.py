"""Fine-tune BERT to classify sentences (or sentence pairs), then export a model that takes raw strings.

With no arguments it fine-tunes the real all-MiniLM-L6-v2 on the SST-2 sample in recipes/data/sst2,
reports accuracy on the full SST-2 dev set (872 sentences) and writes a SavedModel for TF Serving to
saved_models/sst2/<version>/. GLUE pair tasks (MRPC, RTE, ...) run with `--text-columns a,b`.

    python recipes/classify.py                   # or: keras-bert-zoo train classify
    keras-bert-zoo train classify --train-file MRPC/train.tsv --dev-file MRPC/dev.tsv \
        --text-columns "#1 String,#2 String" --label-column Quality --export-dir saved_models/mrpc
"""

from pathlib import Path

from keras_bert_zoo.quiet import import_tensorflow

import_tensorflow()  # without its start-up log lines (KERAS_BERT_ZOO_VERBOSE=1 shows them)

import keras  # noqa: E402

import keras_bert_zoo as kbz  # noqa: E402
from keras_bert_zoo.data import classification_dataset, label_vocabulary, read_glue_tsv  # noqa: E402
from keras_bert_zoo.training import runs  # noqa: E402
from keras_bert_zoo.training.progress import batch_progress  # noqa: E402

DATA = runs.shipped_data("sst2")


def parser(prog=None):
    """The task's flags (`prog`: the command shown in its usage line, default the script's name)."""
    parser = runs.task_parser(__doc__, prog)
    parser.add_argument("--train-file", default=DATA / "train.tsv")
    parser.add_argument("--dev-file", default=DATA / "dev.tsv")
    parser.add_argument("--text-columns", default="sentence", help="one column, or two separated by a comma")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--label-names", metavar="A,B,...",
                        help="names the model answers with, for the sorted label values in order (default: the "
                             "raw labels; negative,positive for the shipped SST-2 data)")
    # A 6-layer model learns SST-2 in one epoch at 1e-4 (0.84 dev accuracy at BERT-base's usual 5e-5).
    runs.add_common_flags(parser, checkpoint="all_minilm_l6_v2", model_dir="runs/classify",
                          export_dir="saved_models/sst2", learning_rate=1e-4)
    return parser


def main(argv=None, prog=None):
    """Trains, evaluates and exports as the flags in `argv` (default: the command line's) say."""
    args = parser(prog).parse_args(argv)
    strategy = runs.configure(args, "--train-file", "--dev-file")  # after checking the data files exist

    # 1. Data: read the TSVs; tokenization happens inside the tf.data graph.
    columns = args.text_columns.split(",")
    train = read_glue_tsv(args.train_file, columns, args.label_column)
    dev = read_glue_tsv(args.dev_file, columns, args.label_column)
    labels = label_vocabulary(train.labels)  # the TSVs' values, sorted: class i is labels[i]
    label_names = _label_names(args, labels)  # what the exported model answers for class i
    num_train = min(len(train.labels), args.max_train_examples or len(train.labels))
    kind = "sentence pairs" if len(columns) == 2 else "sentences"

    def train_pass(seed):  # batches of texts of similar length: 2.4x fewer padded positions on SST-2
        return classification_dataset(train, preprocessor, args.batch_size, label_names=labels, shuffle=True,
                                      seed=seed, max_examples=num_train, bucket_by_sequence_length=True)

    # 2. Model: encoder + classification head, built under the strategy.
    with strategy.scope():
        encoder, preprocessor = runs.load_encoder_and_preprocessor(args.checkpoint, args.sequence_length,
                                                                 random_init=args.random_init)
        steps_per_epoch = runs.count_batches(train_pass(0))  # each length bucket ends in a short batch
        print(f"data: {num_train:,} training {kind} ({steps_per_epoch:,} batches of up to {args.batch_size}, grouped "
              f"by length), {len(dev.labels):,} dev {kind}", flush=True)
        model = kbz.BertClassifier(encoder, num_classes=len(labels), label_names=label_names,
                                   pair=len(columns) == 2, preprocessor=preprocessor)
        runs.compile(model, args, steps_per_epoch,
                     loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                     metrics=[kbz.metrics.Accuracy()])

    # 3. Train (resumable: rerun the same command after a kill), validating on the whole dev set at each
    # epoch's end: the last epoch's figure is the final model's.
    dev_ds = classification_dataset(dev, preprocessor, args.batch_size, label_names=labels,
                                    bucket_by_sequence_length=True)
    history = runs.fit(model, args, train_pass, steps_per_epoch, validation_data=dev_ds, monitor="val_accuracy",
                       mode="max")
    dev_accuracy = history.history.get("val_accuracy", [None])[-1]
    if dev_accuracy is None:  # restarted after training had ended: nothing was validated in this process
        print(f"evaluating on {len(dev.labels):,} dev {kind}...", flush=True)
        dev_accuracy = model.evaluate(dev_ds, verbose=0, return_dict=True, callbacks=batch_progress())["accuracy"]

    # 4. Ship: a SavedModel that takes raw strings, as TF Serving loads it.
    card = _card_facts(args, argv, prog, num_train, kind, dev_accuracy)
    runs.save_run_info(args.model_dir, export_dir=args.export_dir, card=card)
    path = kbz.export.saved_model(model, args.export_dir, warmup_examples=_warmup_examples(dev, columns), card=card)
    runs.finish(args.model_dir)  # outputs written: the backup goes (a kill before this resumes after training)
    print(f"exported to {path}")
    print(f"dev accuracy: {dev_accuracy:.4f}")


SST2_LABEL_NAMES = ["negative", "positive"]  # SST-2's 0 and 1


def _label_names(args, labels):
    """The exported model's label names for the sorted `labels` of the training file: --label-names, else
    negative,positive on the shipped SST-2 data, else the labels themselves."""
    if args.label_names is None:
        shipped = (Path(args.train_file).resolve() == (DATA / "train.tsv").resolve()
                   and args.label_column == "label" and labels == ["0", "1"])
        return list(SST2_LABEL_NAMES) if shipped else list(labels)
    names = [name.strip() for name in args.label_names.split(",")]
    if len(names) != len(labels) or "" in names or len(set(names)) != len(names):
        raise SystemExit(f"error: --label-names {args.label_names!r} must give {len(labels)} distinct names, one per "
                         f"label of {args.train_file} in this order: {', '.join(labels)}.")
    return names


def _card_facts(args, argv, prog, num_train, kind, dev_accuracy):
    """What the export's model card cannot know itself: base checkpoint, training data, dev accuracy, command."""
    shipped = Path(args.train_file).resolve() == (DATA / "train.tsv").resolve()
    data = "SST-2 sample" if shipped else str(args.train_file)
    return runs.card_facts(args, argv, __file__, f"{data}: {num_train} training {kind}", {"dev accuracy": dev_accuracy},
                           prog=prog)


def _warmup_examples(dev, columns):
    """A few real dev examples for TF Serving to run at load, so the first request is not slow."""
    rows = list(zip(*dev.texts))[:4]
    return [row[0] for row in rows] if len(columns) == 1 else rows

