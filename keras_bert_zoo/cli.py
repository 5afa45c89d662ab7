"""The `keras-bert-zoo` command line.

    keras-bert-zoo presets
    keras-bert-zoo convert SRC DST --to {hf,google,keras}
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
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
