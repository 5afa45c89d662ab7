"""Fine-tune BERT for multiple choice (COPA, SWAG), then export a model that picks the right answer.

With no arguments it fine-tunes the real all-MiniLM-L6-v2 on the COPA-style data in
recipes/data/multiple_choice (1,000 train and 300 dev questions with two choices each; synthetic, made by
the script there, as no multiple-choice data set may ship with this repository), reports dev accuracy
and writes a SavedModel for TF Serving to saved_models/multiple_choice/<version>/. Its `serving_default`
takes `context` [batch] and `choices` [batch, num_choices] strings and returns `probabilities`,
`label_id` and `answer` (the chosen text).

Files are SWAG CSV (.csv, e.g. rowanz/swagaf data/train.csv and val.csv: four choices) or JSON lines
(.jsonl: {"context", "question", "choices", "label"}); see keras_bert_zoo.data.multiple_choice.

    python recipes/multiple_choice.py            # or: keras-bert-zoo train multiple_choice
    keras-bert-zoo train multiple_choice --train-file swagaf/data/train.csv --dev-file swagaf/data/val.csv \
        --epochs 3 --sequence-length 128 --export-dir saved_models/swag
"""

from pathlib import Path

from keras_bert_zoo.quiet import import_tensorflow

import_tensorflow()  # without its start-up log lines (KERAS_BERT_ZOO_VERBOSE=1 shows them)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_bert_zoo as kbz  # noqa: E402
from keras_bert_zoo.data import (  # noqa: E402
    multiple_choice_dataset,
    read_multiple_choice_jsonl,
    read_swag_csv,
)
from keras_bert_zoo.training import runs  # noqa: E402
from keras_bert_zoo.training.progress import batch_progress  # noqa: E402

DATA = runs.shipped_data("multiple_choice")
READERS = {".csv": read_swag_csv, ".jsonl": read_multiple_choice_jsonl}


def parser(prog=None):
    """The task's flags (`prog`: the command shown in its usage line, default the script's name)."""
    parser = runs.task_parser(__doc__, prog)
    parser.add_argument("--train-file", default=DATA / "train.jsonl", type=Path, help="SWAG .csv or .jsonl")
    parser.add_argument("--dev-file", default=DATA / "dev.jsonl", type=Path)
    # A question's pairs are short (COPA: ~25 wordpieces); the batch counts questions, each num_choices pairs.
    runs.add_common_flags(parser, checkpoint="all_minilm_l6_v2", model_dir="runs/multiple_choice",
                          export_dir="saved_models/multiple_choice", learning_rate=1e-4, batch_size=16,
                          sequence_length=64, epochs=2)
    return parser


def read_examples(path):
    """`MultipleChoiceExamples` from a SWAG .csv or a .jsonl file."""
    if path.suffix not in READERS:
        raise SystemExit(f"error: {path}: multiple-choice files are SWAG CSV (.csv) or JSON lines (.jsonl).")
    return READERS[path.suffix](path)


def main(argv=None, prog=None):
    """Trains, evaluates and exports as the flags in `argv` (default: the command line's) say."""
    args = parser(prog).parse_args(argv)
    strategy = runs.configure(args, "--train-file", "--dev-file")  # after checking the data files exist

    # 1. Data: a context and its candidate answers per question; (context, choice) pairs are packed in tf.data.
    train = read_examples(args.train_file)
    dev = read_examples(args.dev_file)
    if dev.labels is None or train.labels is None:
        raise SystemExit("error: training and scoring need labelled --train-file and --dev-file.")
    if dev.num_choices != train.num_choices:
        raise SystemExit(f"error: train has {train.num_choices} choices a question, dev {dev.num_choices}.")
    num_train = min(len(train.labels), args.max_train_examples or len(train.labels))
    print(f"data: {num_train:,} training questions ({runs.steps_per_epoch(num_train, args.batch_size):,} batches of "
          f"{args.batch_size}), {len(dev.labels):,} dev questions, {train.num_choices} choices each", flush=True)

    # 2. Model: the encoder scores each pair on its pooled [CLS]; a softmax over the choices picks one.
    with strategy.scope():
        encoder, preprocessor = runs.load_encoder_and_preprocessor(args.checkpoint, args.sequence_length,
                                                                 random_init=args.random_init)
        model = kbz.BertMultipleChoice(encoder, num_choices=train.num_choices, preprocessor=preprocessor)
        runs.compile(model, args, runs.steps_per_epoch(num_train, args.batch_size),
                     loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                     metrics=[kbz.metrics.Accuracy()])

    # 3. Train (resumable: rerun the same command after a kill).
    def train_pass(seed):
        return multiple_choice_dataset(train, preprocessor, args.batch_size, shuffle=True, seed=seed,
                                       max_examples=num_train)

    dev_ds = multiple_choice_dataset(dev, preprocessor, args.batch_size)
    runs.fit(model, args, train_pass, runs.steps_per_epoch(num_train, args.batch_size), validation_data=dev_ds,
             monitor="val_accuracy", mode="max")

    # 4. Evaluate: the highest-scoring choice of each dev question against its label.
    print(f"evaluating on {len(dev.labels):,} dev questions...", flush=True)
    logits = model.predict(dev_ds, verbose=0, callbacks=batch_progress())
    dev_accuracy = kbz.metrics.accuracy(dev.labels, np.argmax(logits, axis=-1))

    # 5. Ship: a SavedModel that takes a context and its choices as raw strings, as TF Serving loads it.
    card = _card_facts(args, argv, prog, num_train, dev_accuracy)
    runs.save_run_info(args.model_dir, export_dir=args.export_dir, card=card)
    warmup = [{"context": context, "choices": choices} for context, choices in zip(dev.contexts[:4], dev.choices)]
    path = kbz.export.saved_model(model, args.export_dir, warmup_examples=warmup, card=card)
    runs.finish(args.model_dir)  # outputs written: the backup goes (a kill before this resumes after training)
    print(f"exported to {path}")
    print(f"dev: {len(dev.labels)} questions, {dev.num_choices} choices each (chance: {1 / dev.num_choices:.4f})")
    print(f"dev accuracy: {dev_accuracy:.4f}")


def _card_facts(args, argv, prog, num_train, dev_accuracy):
    """What the export's model card cannot know itself: base checkpoint, training data, dev accuracy, command."""
    shipped = args.train_file.resolve() == (DATA / "train.jsonl").resolve()
    data = "COPA-style synthetic sample (recipes/data/multiple_choice)" if shipped else str(args.train_file)
    return runs.card_facts(args, argv, __file__, f"{data}: {num_train} training questions",
                           {"dev accuracy": dev_accuracy}, prog=prog)

