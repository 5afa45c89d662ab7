"""Compress a classify run into a new run folder that `keras-bert-zoo export` ships: distil it to fewer layers,
prune attention heads and feed-forward neurons, quantize its weights to int8, in that order, each optional.

    keras-bert-zoo compress runs/classify --distill-layers 3 --prune-heads 0.4 --quantize int8

--distill-layers N trains a student of N layers from alternate teacher layers (`keras_bert_zoo.tasks.distill`;
flags this command does not know go to it: --epochs, --temperature, --alpha, ...). --prune-heads and
--prune-ffn remove that fraction of the heads (across layers) and of each layer's feed-forward neurons, the
least important first by `kbz.compress.gate_importance` on --importance-examples training sentences, without
fine-tuning afterwards. --quantize int8 gives the dense kernels Keras' int8 weights (`quantize_int8`); the model
exports as a SavedModel or ONNX (for an int8 TFLite file, export the float run with --quantization). The new
folder holds last.keras and run.json; the dev accuracy after each step is printed last.
"""

from pathlib import Path

from keras_bert_zoo.quiet import import_tensorflow

import_tensorflow()  # without its start-up log lines (KERAS_BERT_ZOO_VERBOSE=1 shows them)

import argparse  # noqa: E402

import numpy as np  # noqa: E402

import keras_bert_zoo as kbz  # noqa: E402
from keras_bert_zoo.compress import gate_importance, prune, quantize_int8  # noqa: E402
from keras_bert_zoo.data import classification_dataset, label_vocabulary, read_glue_tsv  # noqa: E402
from keras_bert_zoo.training import runs  # noqa: E402
from keras_bert_zoo.training.keras_file import save_keras  # noqa: E402

DATA = runs.shipped_data("sst2")


def parser(prog=None):
    """The command's own flags (`prog`: the command shown in its usage line); the rest go to the distillation."""
    parser = runs.task_parser(__doc__, prog)
    parser.add_argument("run", metavar="RUN", help="a classify run folder (best.keras/last.keras) or a .keras file")
    parser.add_argument("--distill-layers", type=int, metavar="N", help="the student's layers")
    parser.add_argument("--prune-heads", type=_fraction, metavar="FRACTION", help="share of all heads to remove")
    parser.add_argument("--prune-ffn", type=_fraction, metavar="FRACTION",
                        help="share of each layer's feed-forward neurons to remove")
    parser.add_argument("--quantize", choices=["int8"], help="Keras' int8 weights")
    parser.add_argument("--output", help="the new run folder (default: RUN_<steps> beside RUN)")
    parser.add_argument("--train-file", default=DATA / "train.tsv")
    parser.add_argument("--dev-file", default=DATA / "dev.tsv")
    parser.add_argument("--text-column", default="sentence")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--importance-examples", type=int, default=256,
                        help="training sentences that rank heads and neurons (the first N of --train-file)")
    parser.add_argument("--batch-size", type=int, default=32)
    return parser


def main(argv=None, prog=None):
    """Compresses as the flags in `argv` (default: the command line's) say; returns the new run folder."""
    args, rest = parser(prog).parse_known_args(argv)
    if args.distill_layers is None and rest:
        parser(prog).error(f"unrecognized arguments: {' '.join(rest)} (other flags go to --distill-layers)")
    steps = [name for name, value in (("l", args.distill_layers), ("h", args.prune_heads), ("f", args.prune_ffn),
                                      ("", args.quantize)) if value is not None]
    if not steps:
        parser(prog).error("give at least one of --distill-layers, --prune-heads, --prune-ffn, --quantize.")
    runs.require_files(("--train-file", args.train_file), ("--dev-file", args.dev_file))
    source = Path(args.run)
    try:
        source_file = source if source.suffix == ".keras" else runs.model_file(source)
    except FileNotFoundError as error:
        raise SystemExit(f"error: {error}") from None
    output = Path(args.output or source.with_name(f"{source.stem}_{_suffix(args)}"))
    data = ["--train-file", str(args.train_file), "--dev-file", str(args.dev_file), "--text-column",
            args.text_column, "--label-column", args.label_column, "--batch-size", str(args.batch_size)]
    accuracies = []
    if args.distill_layers is not None:
        from keras_bert_zoo.tasks import distill

        distill.main(["--teacher", str(source_file), "--student-layers", str(args.distill_layers), "--model-dir",
                      str(output), *data, *rest], prog=prog, student_dir=lambda layers: output)
        model = kbz.load(output / "last.keras")
    else:
        model = kbz.load(source_file)
    if not isinstance(model, kbz.BertClassifier) or model.preprocessor is None:
        raise SystemExit(f"error: {source_file}: a classifier carrying its preprocessor is needed, as "
                         f"recipes/classify.py writes; this is a {type(model).__name__}.")
    runs.lock_model_dir(output)
    train = read_glue_tsv(args.train_file, [args.text_column], args.label_column)
    dev = read_glue_tsv(args.dev_file, [args.text_column], args.label_column)
    labels = label_vocabulary(train.labels)
    dev_ds = classification_dataset(dev, model.preprocessor, args.batch_size, label_names=labels)
    accuracies.append((f"{model.encoder.num_layers} layers" if args.distill_layers else "the run's model",
                       _accuracy(model, dev_ds)))
    if args.prune_heads or args.prune_ffn:
        ranking = classification_dataset(train, model.preprocessor, args.batch_size, label_names=labels,
                                         max_examples=args.importance_examples)
        model = prune(model, heads=args.prune_heads, ffn=args.prune_ffn, importance=gate_importance(model, ranking))
        accuracies.append((f"pruned ({_pruned(model.encoder)})", _accuracy(model, dev_ds)))
    if args.quantize:
        model = quantize_int8(model)
        accuracies.append(("int8 weights", _accuracy(model, dev_ds)))
    output.mkdir(parents=True, exist_ok=True)
    save_keras(model, output / "last.keras")
    card = runs.card_facts(argparse.Namespace(checkpoint=str(source_file), random_init=False), argv, __file__,
                           f"compressed from {source_file} ({', '.join(_described(args))})",
                           {"dev accuracy": accuracies[-1][1]}, prog=prog)
    runs.save_run_info(output, card=card)
    runs.finish(output)
    print(f"dev accuracy ({len(dev.labels)} sentences of {args.dev_file}):")
    for name, accuracy in accuracies:
        print(f"  {name:<40} {accuracy:.4f}")
    print(f"wrote the run folder {output}; ship it with: keras-bert-zoo export {output} --format saved_model")
    return output


def _fraction(text):
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction in (0, 1)")
    return value


def _suffix(args):
    """The default output folder's suffix, e.g. l3_h40_int8."""
    parts = [f"l{args.distill_layers}" if args.distill_layers else "",
             f"h{round(100 * args.prune_heads)}" if args.prune_heads else "",
             f"f{round(100 * args.prune_ffn)}" if args.prune_ffn else "", args.quantize or ""]
    return "_".join(part for part in parts if part)


def _described(args):
    return [text for text, value in ((f"distilled to {args.distill_layers} layers", args.distill_layers),
                                     (f"{args.prune_heads:.0%} of heads pruned" if args.prune_heads else "",
                                      args.prune_heads),
                                     (f"{args.prune_ffn:.0%} of FFN neurons pruned" if args.prune_ffn else "",
                                      args.prune_ffn),
                                     ("int8 weights", args.quantize)) if value]


def _pruned(encoder):
    heads = encoder.num_layers * encoder.num_heads - sum(map(len, (encoder.pruned_heads or {}).values()))
    neurons = sum(encoder.intermediate_dims or [encoder.intermediate_dim] * encoder.num_layers)
    return f"{heads} heads, {neurons} FFN neurons left"


def _accuracy(model, dataset):
    correct = total = 0
    for inputs, labels in dataset:
        correct += int(np.sum(np.argmax(model(inputs, training=False), -1) == labels.numpy()))
        total += len(labels)
    return correct / total
