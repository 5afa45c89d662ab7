"""The `keras-bert-zoo` command line.

    keras-bert-zoo presets
    keras-bert-zoo convert SRC DST --to {hf,google,keras}
    keras-bert-zoo train classify [recipe flags]
    keras-bert-zoo evaluate saved_models/sst2 --file dev.tsv
"""

import argparse
import os
import sys
from pathlib import Path


def _load_source(source):
    """(model, vocabulary) from an HF/Google folder, a preset name or a .keras file.

    Checkpoints with pretraining heads convert as a BertPretrainer so the heads are kept.
    """
    import keras

    from keras_bert_zoo import checkpoints, presets

    if source in presets.names():
        from keras_bert_zoo.encoder import BertEncoder

        try:
            vocabulary = presets.vocabulary_file(source)
        except ValueError:
            vocabulary = None
        return BertEncoder.from_preset(source), vocabulary
    path = Path(source)
    if path.suffix == ".keras":
        return keras.saving.load_model(path), None
    if not path.exists():
        raise SystemExit(f"error: {source} is not a preset, a .keras file or a checkpoint folder.")
    _, state, _ = checkpoints.read_checkpoint(path)
    vocabulary = path / checkpoints.VOCAB if (path / checkpoints.VOCAB).is_file() else None
    if any(name.startswith("cls.") for name in state):
        return checkpoints.load_pretrainer(path), vocabulary
    return checkpoints.load_encoder(path), vocabulary


def convert(args):
    from keras_bert_zoo import checkpoints

    model, vocabulary = _load_source(args.source)
    vocabulary = args.vocabulary or vocabulary
    if args.to == "hf":
        checkpoints.save_hf(model, args.destination, vocabulary=vocabulary)
    elif args.to == "google":
        checkpoints.save_google_checkpoint(model, args.destination, vocabulary=vocabulary)
    else:
        destination = Path(args.destination)
        if destination.suffix != ".keras":
            raise SystemExit(f"error: --to keras writes a .keras file; got {destination}.")
        destination.parent.mkdir(parents=True, exist_ok=True)
        model.save(destination)
    print(f"wrote {type(model).__name__} to {args.destination} ({args.to})")


RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def train(args, recipe_args):
    """Runs recipes/<task>.py with the remaining flags: the CLI and the recipe are the same code."""
    import runpy

    script = RECIPES / f"{args.task}.py"
    if not script.is_file():
        raise SystemExit(
            f"error: {script} not found. `keras-bert-zoo train` runs the recipes of a source checkout "
            "(pip install -e . from a clone of the repository)."
        )
    sys.argv = [str(script), *recipe_args]
    runpy.run_path(str(script), run_name="__main__")


def _latest_version(path):
    from keras_bert_zoo.export import next_version

    path = Path(path)
    if (path / "saved_model.pb").is_file():
        return path
    latest = next_version(path) - 1
    if latest == 0:
        raise SystemExit(f"error: {path} holds no SavedModel and no <version>/ folder with one.")
    return path / str(latest)


def evaluate(args):
    """Scores an exported classifier on a labelled TSV through its serving signature (raw strings in)."""
    import numpy as np
    import tensorflow as tf

    from keras_bert_zoo import metrics
    from keras_bert_zoo.data import read_glue_tsv

    path = _latest_version(args.model)
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    columns = args.text_columns.split(",")
    examples = read_glue_tsv(args.file, columns, args.label_column)
    names = ["text"] if len(columns) == 1 else ["text_a", "text_b"]
    predicted = []
    for start in range(0, len(examples.labels), args.batch_size):
        batch = {name: tf.constant(texts[start : start + args.batch_size]) for name, texts in zip(names, examples.texts)}
        predicted += [label.decode() for label in serve(**batch)["label"].numpy()]
    label_names = sorted(set(predicted) | set(examples.labels))
    gold = np.array([label_names.index(label) for label in examples.labels])
    guess = np.array([label_names.index(label) for label in predicted])
    print(f"model: {path}")
    for name, metric in metrics.glue_metrics(args.task).items():
        print(f"{name}: {metric(gold, guess):.4f}")


def list_presets(args):
    from keras_bert_zoo import presets

    presets.list()


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-bert-zoo", description="BERT-family models in Keras 3: import, train, export."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("presets", help="list the named presets")
    p.set_defaults(run=list_presets)

    p = commands.add_parser(
        "convert",
        help="convert a checkpoint between Hugging Face, Google TF and .keras",
        description="SRC: an HF folder, a Google checkpoint folder, a preset name or a .keras file.",
    )
    p.add_argument("source", metavar="SRC")
    p.add_argument("destination", metavar="DST", help="output folder (hf, google) or .keras file")
    p.add_argument("--to", required=True, choices=("hf", "google", "keras"))
    p.add_argument("--vocabulary", help="vocab.txt to write beside the weights (default: SRC's)")
    p.set_defaults(run=convert)

    p = commands.add_parser("train", help="run a training recipe (the same code as recipes/<task>.py)",
                            description="Flags after TASK go to the recipe; see keras-bert-zoo train TASK --help.")
    p.add_argument("task", choices=("classify",))
    p.set_defaults(run=train, passthrough=True)

    p = commands.add_parser("evaluate", help="score an exported classifier on a labelled TSV")
    p.add_argument("model", help="SavedModel folder, or a base path whose latest version is used")
    p.add_argument("--file", required=True, help="GLUE-style TSV with a header")
    p.add_argument("--text-columns", default="sentence")
    p.add_argument("--label-column", default="label")
    p.add_argument("--task", default="sst2", help="GLUE task whose metrics to print")
    p.add_argument("--batch-size", type=int, default=64)
    p.set_defaults(run=evaluate)
    return parser


def main(argv=None):
    args, rest = build_parser().parse_known_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if getattr(args, "passthrough", False):
        args.run(args, rest)
    elif rest:
        raise SystemExit(f"error: unrecognized arguments: {' '.join(rest)}")
    else:
        args.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
