"""The `keras-bert-zoo` command line.

    keras-bert-zoo presets
    keras-bert-zoo convert SRC DST --to {hf,google,keras}
    keras-bert-zoo train classify [task flags]
    keras-bert-zoo export runs/classify --format saved_model --name sst2
    keras-bert-zoo evaluate saved_models/sst2 --file dev.tsv
    keras-bert-zoo predict saved_models/sst2 "a great movie" [--server localhost:8500 | --rest localhost:8501]
    keras-bert-zoo predict saved_models/sst2.tflite "a great movie"   (or an .onnx file)
    keras-bert-zoo export runs/translate --format onnx    (a generator: saved_models/translate_onnx/)
    keras-bert-zoo predict saved_models/translate_onnx "A man runs."   (or its .tflite, or its SavedModel)
"""

import argparse
import importlib
import json
import sys
from pathlib import Path

from keras_bert_zoo import quiet, tasks
from keras_bert_zoo.progress import BatchProgress, phase


def _load_source(source, random_init=False):
    """(model, vocabulary) from an HF/Google folder, a preset name or a .keras file (`kbz.load`).

    A checkpoint converts as the class it holds, heads and labels kept. A preset loads its real
    weights (or says where to get them); `random_init` asks for random ones.
    """
    from keras_bert_zoo import checkpoints, loading, presets

    if source in presets.names():
        found = loading.announce(source, random_init)
        if found is None:
            return loading.load(source, weights=None), presets.get(source).vocabulary_file
        vocabulary = found.folder / checkpoints.VOCAB
        return loading.load(source, weights=found.folder), vocabulary if vocabulary.is_file() else None
    if random_init:
        raise SystemExit(f"error: --random-init takes a preset name; {source} is not one.")
    try:
        model = loading.load(source)
    except FileNotFoundError as error:
        raise SystemExit(f"error: {error}") from None
    vocabulary = Path(source) / checkpoints.VOCAB
    return model, vocabulary if vocabulary.is_file() else None


def _copy_tokenizer_files(source, destination):
    """The tokenizer files of the checkpoint folder `source`, written into `destination` as transformers names
    them; a folder without them (weights only) converts without them, with a line saying so."""
    from keras_bert_zoo.loading import load_tokenizer
    from keras_bert_zoo.text.checkpoint_tokenizers import write_tokenizer_files

    try:
        tokenizer = load_tokenizer(source)
    except (FileNotFoundError, NotImplementedError) as error:
        print(f"no tokenizer files written: {error}")
        return
    write_tokenizer_files(tokenizer, destination)


def convert(args):
    """Converts a checkpoint, with a line as each phase (loading, writing) starts and ends."""
    from keras_bert_zoo import saving

    destination = Path(args.destination)
    if args.to == "keras" and destination.suffix != ".keras":
        raise SystemExit(f"error: --to keras writes a .keras file; got {destination}.")
    with phase(f"loading {args.source}"):
        model, vocabulary = _load_source(args.source, args.random_init)
    vocabulary = args.vocabulary or vocabulary
    with phase(f"writing {destination} ({args.to})"):
        try:
            if args.to == "hf":
                saving.save_hf(model, destination, vocabulary=vocabulary)
                if vocabulary is None and Path(args.source).is_dir():  # vocab.json + merges.txt, a .model
                    _copy_tokenizer_files(args.source, destination)
            elif args.to == "google":
                saving.save_google_checkpoint(model, destination, vocabulary=vocabulary)
        except (TypeError, ValueError) as error:  # a format that cannot hold this model, a vocabulary of another size
            raise SystemExit(f"error: {error}") from None
        if args.to == "keras":
            destination.parent.mkdir(parents=True, exist_ok=True)
            model.save(destination)
    print(f"wrote {type(model).__name__} to {args.destination} ({args.to})")


def train(args, task_args):
    """Runs the task's training (`keras_bert_zoo.tasks.<task>.main`, as recipes/<task>.py does) with the remaining
    flags: an installed package trains with no source checkout."""
    if args.task is None:
        if args.help:
            args.parser.print_help()
            return
        args.parser.error(f"give a TASK ({', '.join(tasks.TASKS)}); see keras-bert-zoo train --help.")
    if args.help:  # `train TASK --help` shows the task's flags
        task_args = ["--help", *task_args]
    task = importlib.import_module(f"keras_bert_zoo.tasks.{args.task}")  # TensorFlow and the task: not for --help
    task.main(task_args, prog=f"keras-bert-zoo train {args.task}")


def compress(args, argv):
    """Distils, prunes and quantizes a classify run into a new run folder (`keras_bert_zoo.tasks.compress`)."""
    from keras_bert_zoo.tasks import compress as task

    task.main([*(["--help"] if args.help else []), *argv], prog="keras-bert-zoo compress")


def _latest_version(path):
    from keras_bert_zoo.export import next_version

    path = Path(path)
    if not path.is_dir():
        raise SystemExit(f"error: {path} not found: give a SavedModel folder or a base path with <version>/ folders.")
    if (path / "saved_model.pb").is_file():
        return path
    latest = next_version(path) - 1
    if latest == 0:
        raise SystemExit(f"error: {path} holds no SavedModel and no <version>/ folder with one.")
    return path / str(latest)


def _model_labels(label_ids, labels, num_classes, gold, file):
    """The model's labels by class id, as its predictions show them.

    Classes it never predicted take the gold labels it was not seen to predict: no score depends
    on which of those goes where (in the binary case there is only one).
    """
    names = [None] * num_classes
    for label_id, label in zip(label_ids, labels):
        names[label_id] = label
    unseen, free = sorted(set(gold) - set(names)), [i for i, name in enumerate(names) if name is None]
    if len(unseen) > len(free):
        known = [name for name in names if name is not None]
        raise SystemExit(f"error: labels {unseen} of {file} are not labels of the model (it predicts {known}).")
    for i, label in zip(free, unseen):
        names[i] = label
    return names


def evaluate(args):
    """Scores an exported classifier on a labelled TSV through its serving signature (raw strings in).

    A classifier gets the task's GLUE metrics in the model's own class order: binary F1 counts its
    label 1 as positive, as GLUE does. A regressor (`num_classes=1`) gets Pearson, Spearman and MSE.
    """
    import numpy as np
    import tensorflow as tf

    from keras_bert_zoo import metrics
    from keras_bert_zoo.data import read_glue_tsv

    path = _latest_version(args.model)
    columns = args.text_columns.split(",")
    if len(columns) not in (1, 2) or "" in columns:
        raise SystemExit(f"error: --text-columns takes one column or two separated by a comma, got "
                         f"{args.text_columns!r}.")
    try:
        examples = read_glue_tsv(args.file, columns, args.label_column)
    except FileNotFoundError:
        raise SystemExit(f"error: --file {args.file} not found.") from None
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise SystemExit(f"error: {error}") from None
    if not examples.labels:
        raise SystemExit(f"error: {args.file} has a header and no examples.")
    if not any(examples.labels):
        raise SystemExit(f"error: {args.file} has no labels in a column {args.label_column!r} (--label-column).")
    with phase(f"loading {path}", stream=sys.stderr):  # stdout holds the scores
        serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    names = ["text"] if len(columns) == 1 else ["text_a", "text_b"]
    takes = sorted(serve.structured_input_signature[1])
    if sorted(names) != takes:
        raise SystemExit(f"error: {path} takes {', '.join(takes)}; --text-columns {args.text_columns!r} gives "
                         f"{len(columns)} text{'s' if len(columns) > 1 else ''} ({', '.join(names)}).")
    outputs_of = set(serve.structured_outputs)
    if "score" not in outputs_of and not {"label", "label_id", "probabilities"} <= outputs_of:
        raise SystemExit(f"error: {path} is not a classifier or a regressor (its outputs: "
                         f"{', '.join(sorted(outputs_of))}); evaluate scores those.")
    outputs = _serve_in_batches(serve, dict(zip(names, examples.texts)), args.batch_size, args.file)
    predicted = {key: np.concatenate([out[key] for out in outputs]) for key in outputs[0]}
    print(f"model: {path}")
    if "score" in predicted:  # a regressor
        try:
            gold = np.array(examples.labels, dtype="float64")
        except ValueError as error:
            raise SystemExit(f"error: {args.file}: a regressor needs numeric labels ({error}).") from None
        scores = {"pearson": metrics.pearson_corrcoef(gold, predicted["score"]),
                  "spearman": metrics.spearman_corrcoef(gold, predicted["score"]),
                  "mse": float(np.mean((gold - predicted["score"]) ** 2))}
    else:
        labels = [label.decode() for label in predicted["label"]]
        num_classes = predicted["probabilities"].shape[-1]
        class_ids = [str(i) for i in range(num_classes)]
        if set(examples.labels) <= set(class_ids) and not set(labels) <= set(class_ids):
            # A GLUE file labels by class id (SST-2's 0, 1) where the model names them (negative, positive):
            # recipes name the sorted labels in order, so label i is the model's class i.
            print(f"note: {args.file} labels by class id ({', '.join(class_ids)}); label i is the model's class i",
                  file=sys.stderr)
            gold = np.array([int(label) for label in examples.labels])
        else:
            label_names = _model_labels(predicted["label_id"], labels, num_classes, examples.labels, args.file)
            gold = np.array([label_names.index(label) for label in examples.labels])
        scores = {name: metric(gold, predicted["label_id"]) for name, metric in metrics.glue_metrics(args.task).items()}
    for name, value in scores.items():
        print(f"{name}: {value:.4f}")


def _serve_in_batches(serve, texts, batch_size, source):
    """The outputs (numpy) of `serve` on each batch of `texts` {input name: strings}, with progress lines on stderr:
    a phase line, and a `BatchProgress` line every interval when stderr is not a terminal."""
    import tensorflow as tf

    count = len(next(iter(texts.values())))
    progress = BatchProgress(-(-count // batch_size), "evaluating", stream=sys.stderr)
    outputs = []
    with phase(f"evaluating {count:,} examples of {source}", heartbeat=False, stream=sys.stderr):
        for start in range(0, count, batch_size):
            batch = {name: tf.constant(values[start : start + batch_size]) for name, values in texts.items()}
            outputs.append({key: value.numpy() for key, value in serve(**batch).items()})
            progress.update(len(outputs))
    return outputs


def _prediction_inputs(signature_inputs, texts, flagged, model):
    """(`{input name: one value per example}`, the input TEXT fills): TEXT fills the one input no flag names.

    A flag given once applies to every example (several questions on one --context), or is given once
    per TEXT. An input that takes a list per example (multiple choice `choices`) gets all its values as
    one list, shared by every example; when TEXT fills such an input, the TEXTs are one example's list.
    """
    names = sorted(signature_inputs)
    for name in flagged:
        if name not in names:
            raise SystemExit(f"error: {model} takes {', '.join(names)}; it has no input {name!r}.")
    left = [name for name in names if name not in flagged]
    if len(left) != 1:
        raise SystemExit(f"error: {model} takes {len(names)} inputs ({', '.join(names)}): TEXT fills one, give the "
                         "others with --text-b, --context, --choice or --input NAME=TEXT." if left else
                         f"error: flags give every input of {model} ({', '.join(names)}); TEXT has none left to fill.")

    def takes_lists(name):
        return signature_inputs[name].shape.rank == 2

    examples = [list(texts)] if takes_lists(left[0]) else list(texts)
    inputs = {left[0]: examples}
    for name, values in flagged.items():
        if takes_lists(name):
            inputs[name] = [values] * len(examples)
        elif len(values) in (1, len(examples)):
            inputs[name] = values * len(examples) if len(values) == 1 else values
        else:
            raise SystemExit(f"error: {len(values)} values for {name} and {len(examples)} examples; "
                             "give one for all, or one per example.")
    return inputs, left[0]


def _flagged_inputs(args):
    flagged = {}
    named = [("text_b", args.text_b), ("context", args.context), ("choices", args.choice)]
    pairs = [(name, text) for name, texts in named for text in texts or []]
    for item in args.input or []:
        name, separator, text = item.partition("=")
        if not separator or not name:
            raise SystemExit(f"error: --input takes NAME=TEXT, got {item!r}.")
        pairs.append((name, text))
    for name, text in pairs:
        flagged.setdefault(name, []).append(text)
    return flagged


def _prediction_client(args):
    from keras_bert_zoo.export import serving_client

    if args.server and args.rest:
        raise SystemExit("error: give --server (gRPC) or --rest, not both.")
    suffix = Path(args.model).suffix
    generator_folder = _onnx_generator_folder(args.model)
    if generator_folder is not None:
        if args.server or args.rest:
            raise SystemExit(f"error: --server and --rest take a served model's name, not an ONNX generator "
                             f"folder ({generator_folder}).")
        from keras_bert_zoo.export import file_clients  # onnxruntime: loaded for these files only

        return file_clients.OnnxGeneratorModel(generator_folder), str(generator_folder)
    if suffix in (".tflite", ".onnx"):
        if args.server or args.rest:
            raise SystemExit(f"error: --server and --rest take a served model's name, not a {suffix} file.")
        if not Path(args.model).is_file():
            raise SystemExit(f"error: {args.model} not found.")
        from keras_bert_zoo.export import file_clients  # LiteRT and onnxruntime: loaded for these files only

        client = file_clients.TfliteModel if suffix == ".tflite" else file_clients.OnnxModel
        return client(args.model), str(args.model)
    if not (args.server or args.rest):
        return serving_client.LocalModel(_latest_version(args.model)), str(args.model)
    path = Path(args.model)
    version = int(path.name) if path.name.isdigit() else None  # a version folder pins that version
    name = args.model_name or (path.parent.name if version else path.name)
    if args.server:
        return serving_client.GrpcModel(args.server, name, version, timeout=args.timeout), f"{name} at {args.server}"
    return serving_client.RestModel(args.rest, name, version, timeout=args.timeout), f"{name} at {args.rest}"


def _onnx_generator_folder(model):
    """The `onnx_generator` folder MODEL names (the folder, or one of its .onnx files), else None."""
    from keras_bert_zoo.export.onnx_generator_runner import is_generator_folder

    path = Path(model)
    folder = path.parent if path.suffix == ".onnx" and path.is_file() else path
    return folder if is_generator_folder(folder) else None


def predict(args):
    """Runs `serving_default` of an exported model on raw strings: locally, or on TF Serving (gRPC or REST)."""
    from keras_bert_zoo.export.predictions import describe, shown_text
    from keras_bert_zoo.export.serving_client import ServingError

    try:
        client, model = _prediction_client(args)
        inputs, text_input = _prediction_inputs(client.signature.inputs, args.text, _flagged_inputs(args), model)
        _warn_empty_inputs(inputs, text_input)
        predictions = client.predict(inputs)
    except (ServingError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    if args.json:
        names = sorted(inputs)
        print(json.dumps([{"inputs": {name: inputs[name][i] for name in names}, "outputs": prediction}
                          for i, prediction in enumerate(predictions)], ensure_ascii=False))
        return
    for text, prediction in zip(inputs[text_input], predictions):
        print(f"{shown_text(text if isinstance(text, str) else ' | '.join(text))} => {describe(prediction)}")


def _warn_empty_inputs(inputs, text_input):
    """One stderr line per empty or whitespace-only input: the model answers it, confidently, all the same."""
    for i in range(len(inputs[text_input])):
        for name in [text_input] + sorted(set(inputs) - {text_input}):
            value = inputs[name][i]
            if isinstance(value, str) and not value.strip():
                what = f"input {i + 1}" if name == text_input else f"the {name} of input {i + 1}"
            elif not isinstance(value, str) and any(not item.strip() for item in value):
                what = f"a {name} value of input {i + 1}"
            else:
                continue
            print(f"warning: {what} is empty; the model's answer for it means nothing", file=sys.stderr)


def _calibration_texts(path, pair):
    """Texts for int8 calibration: one example a line, a tab between the two texts of a pair."""
    lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [tuple(line.split("\t", 1)) for line in lines] if pair else lines


def export(args):
    """Exports the best (or last) model of a recipe's run folder (or a .keras file, or a checkpoint folder) as a
    SavedModel, a .tflite or a .onnx file.

    A run folder's model card gets the facts its recipe recorded (base model, training data, metrics, command).
    A `BertEncoderDecoder` (translate, summarize) exports as a generator (`_export_generator`).
    """
    from keras_bert_zoo import export as formats
    from keras_bert_zoo.checkpoints import google_checkpoint, hf_folder
    from keras_bert_zoo.loading import load
    from keras_bert_zoo.models.encoder_decoder import BertEncoderDecoder
    from keras_bert_zoo.training.runs import model_file, run_info

    if args.quantization and args.format != "tflite":
        raise SystemExit(f"error: --quantization applies to --format tflite, not {args.format}.")
    if (args.quantization == "int8") != bool(args.calibration_file):
        raise SystemExit("error: --quantization int8 calibrates on real texts: give it --calibration-file FILE "
                         "(one text a line), and only it.")
    source = Path(args.run_dir)
    try:
        if hf_folder.is_hf_folder(source) or google_checkpoint.is_google_folder(source):
            model, preprocessor = _checkpoint_for_export(source, args.sequence_length)
        else:  # a .keras file, or a run folder (model_file says what a finished run holds)
            model = load(source if source.suffix == ".keras" else model_file(source, which=args.weights))
            preprocessor = None  # the task model brings its own
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    info = run_info(source)
    name = args.name or info.get("export_name") or (source.stem if source.suffix == ".keras" else
                                                     source.resolve().name)
    card = dict(info.get("card") or {})
    output_dir = Path(args.output_dir)
    if isinstance(model, BertEncoderDecoder):
        _export_generator(args, model, info, output_dir / name, card)
        return
    given = [flag for flag, value in _generation_flags(args).items() if value is not None]
    if given:
        raise SystemExit(f"error: {given[0]} applies to a BertEncoderDecoder (a translate or summarize run), not a "
                         f"{type(model).__name__}.")
    try:
        if args.format == "saved_model":
            path = formats.saved_model(model, output_dir / name, preprocessor=preprocessor, card=card)
        elif args.format == "tflite":
            path = formats.tflite(
                model, output_dir / f"{name}.tflite", preprocessor=preprocessor, card=card,
                quantization=None if args.quantization in (None, "none") else args.quantization,
                representative_texts=(_calibration_texts(args.calibration_file, getattr(model, "pair", False))
                                      if args.calibration_file else None))
        else:
            path = formats.onnx(model, output_dir / f"{name}.onnx", card=card, preprocessor=preprocessor)
    except (ValueError, NotImplementedError) as error:  # the model or its arguments do not fit the format
        raise SystemExit(f"error: {error}") from None
    print(f"exported {type(model).__name__} to {path}")


def _generation_flags(args):
    return {"--max-length": args.max_length, "--num-beams": args.num_beams, "--written-spacing": args.written_spacing}


def _export_generator(args, model, info, base, card):
    """Exports a `BertEncoderDecoder` (text in, generated text out) in --format, its decoding options those its run
    recorded in run.json (`generation`, `written_spacing`) unless a flag sets them."""
    from keras_bert_zoo import export as formats
    from keras_bert_zoo.models.encoder_decoder.generation import DEFAULTS

    if "generation" not in info and (args.max_length is None or args.written_spacing is None):
        print("note: the run recorded no decoding options in run.json: max_length and written spacing are "
              f"{args.max_length or DEFAULTS['max_length']} and {'yes' if args.written_spacing else 'no'} unless "
              "--max-length and --written-spacing set them", file=sys.stderr)
    generation = dict(info.get("generation") or {})
    for option, value in (("max_length", args.max_length), ("num_beams", args.num_beams)):
        if value is not None:
            generation[option] = value
    spacing = info.get("written_spacing", False) if args.written_spacing is None else args.written_spacing
    if args.format == "tflite" and args.quantization not in (None, "none"):
        raise SystemExit(f"error: --quantization {args.quantization}: the TFLite generator is float32 only (its "
                         "decoding loop is not quantized); drop --quantization.")
    if args.format == "onnx":  # its loop is greedy and takes max_length alone
        others = {name: value for name, value in generation.items()
                  if name != "max_length" and value != DEFAULTS.get(name, value)}
        if args.num_beams is not None and args.num_beams > 1:
            raise SystemExit(f"error: --num-beams {args.num_beams}: the ONNX generator decodes greedily (one "
                             "beam); export a SavedModel or a .tflite for beam search.")
        if others and args.num_beams is None:
            given = ", ".join(f"{name}={value}" for name, value in others.items())
            raise SystemExit(f"error: the run decodes with {given} (run.json); the ONNX generator's loop is greedy "
                             "without other options: give --num-beams 1 to export greedy decoding, or export a "
                             "SavedModel or a .tflite.")
        if others:
            print(f"note: greedy decoding (--num-beams 1): the run's {', '.join(others)} do not apply",
                  file=sys.stderr)
        generation = {"max_length": generation["max_length"]} if "max_length" in generation else {}
    try:
        if args.format == "saved_model":
            path = formats.saved_model(model, base, card=card, generation=generation, written_spacing=spacing)
            what = "text in, generated_text out (and token_ids, num_tokens)"
        elif args.format == "tflite":
            path = formats.tflite_generator(model, base.with_name(f"{base.name}.tflite"), generation=generation,
                                            written_spacing=spacing)
            what = (f"text in, token ids out (token_ids, num_tokens): LiteRT cannot join strings, so `keras-bert-zoo "
                    f"predict {path}` turns them into text with {path.name}.target_tokenizer/ beside it")
        else:
            path = formats.onnx_generator(model, base.with_name(f"{base.name}_onnx"), generation=generation,
                                          written_spacing=spacing)
            what = (f"{path.name}/encoder.onnx and decoder_step.onnx with the tokenizers' files; `keras-bert-zoo "
                    f"predict {path}` runs the greedy loop and prints the text")
    except (ValueError, TypeError, NotImplementedError) as error:  # the model or its options do not fit the format
        raise SystemExit(f"error: {error}") from None
    print(f"exported {type(model).__name__} to {path}: {what}")


def _checkpoint_for_export(folder, sequence_length):
    """(model, preprocessor for a bare encoder) of a Hugging Face or Google checkpoint folder: the class it
    holds (`kbz.load`, labels included), with a preprocessor on its vocab.txt."""
    from keras_bert_zoo.loading import load, load_preprocessor
    from keras_bert_zoo.models.families import of_model

    model = load(folder)
    positions = of_model(model).backbone_of(model).max_sequence_length
    if sequence_length is not None and sequence_length > positions:
        raise ValueError(f"--sequence-length {sequence_length} is longer than the {positions} positions of {folder}.")
    preprocessor = load_preprocessor(folder, sequence_length=sequence_length or positions, padding="longest")
    if hasattr(model, "preprocessor"):  # a task model carries it
        model.preprocessor = preprocessor
        return model, None
    return model, preprocessor


def list_presets(args):
    from keras_bert_zoo import presets

    presets.list()


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-bert-zoo", description="BERT-family models in Keras 3: import, train, export.",
        epilog=f"TensorFlow's start-up lines are hidden; --verbose (or {quiet.VERBOSE_ENV}=1) shows them.",
    )
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show TensorFlow's own log lines (start-up notices, C++ INFO and WARNING)")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("presets", help="list the named presets")
    p.set_defaults(run=list_presets)

    p = commands.add_parser(
        "convert",
        help="convert a checkpoint between Hugging Face, Google TF and .keras",
        description="SRC: an HF folder, a Google checkpoint folder, a preset name (its real weights, see "
                    "README) or a .keras file.",
    )
    p.add_argument("source", metavar="SRC")
    p.add_argument("destination", metavar="DST", help="output folder (hf, google) or .keras file")
    p.add_argument("--to", required=True, choices=("hf", "google", "keras"))
    p.add_argument("--vocabulary", help="vocab.txt to write beside the weights (default: SRC's)")
    p.add_argument("--random-init", action="store_true", help="SRC is a preset: write its architecture with "
                                                              "random weights (it loads real ones otherwise)")
    p.set_defaults(run=convert)

    p = commands.add_parser("train", help="train, evaluate and export a task (the same run as recipes/<task>.py)",
                            description="Flags after TASK go to the task; see keras-bert-zoo train TASK --help.",
                            add_help=False)
    p.add_argument("task", nargs="?", choices=tasks.TASKS, help="the task to train")
    p.add_argument("-h", "--help", action="store_true",
                   help="show this help, or with TASK the task's flags")  # `train TASK --help` goes to the task
    p.set_defaults(run=train, passthrough=True, parser=p)

    p = commands.add_parser(
        "export", help="export a training run's model: SavedModel for TF Serving, TFLite or ONNX",
        description="RUN: a recipe's --model-dir (it holds best.keras/last.keras, the task model with its "
                    "preprocessor, and run.json), a task model's .keras file, or a Hugging Face or Google "
                    "checkpoint folder (the class its config names, e.g. BertForTokenClassification, with its "
                    "labels and vocab.txt).")
    p.add_argument("run_dir", metavar="RUN", help="the run folder, .keras file or checkpoint folder")
    p.add_argument("--sequence-length", type=int,
                   help="checkpoint folders: wordpieces per text, [CLS] and [SEP] included (default: all the "
                        "model's positions, as transformers' pipelines; runs keep theirs)")
    p.add_argument("--format", required=True, choices=("saved_model", "tflite", "onnx"),
                   help="a BertEncoderDecoder (translate, summarize) exports text in -> text out as a SavedModel; "
                        "as OUTPUT_DIR/NAME_onnx/, an encoder and a one-step decoder graph that predict loops over "
                        "greedily; as a .tflite that returns token ids (token_ids, num_tokens; LiteRT cannot join "
                        "strings), which predict decodes with the target vocabulary written beside it"),
    p.add_argument("--name", help="output name (default: the name the recipe exported under, e.g. sst2 for "
                                  "--export-dir saved_models/sst2; else RUN's folder name)")
    p.add_argument("--output-dir", default="saved_models",
                   help="saved_model writes OUTPUT_DIR/NAME/<version>/; "
                        "tflite, onnx write OUTPUT_DIR/NAME.tflite|.onnx (a BertEncoderDecoder's onnx: the folder "
                        "OUTPUT_DIR/NAME_onnx/)")
    p.add_argument("--quantization", choices=("none", "fp16", "dynamic_int8", "int8"),
                   help="tflite only, not for a BertEncoderDecoder (its .tflite is float32)")
    p.add_argument("--calibration-file", help="int8 only: a few hundred training texts, one a line "
                                              "(a tab between the two texts of a pair)")
    p.add_argument("--weights", default="best", choices=("best", "last"),
                   help="the best validation checkpoint (default) or the last one")
    p.add_argument("--max-length", type=int, metavar="N",
                   help="BertEncoderDecoder only: most tokens generated, [CLS] and [SEP] included (default: the "
                        "run's, recorded in run.json, else 20)")
    p.add_argument("--num-beams", type=int, metavar="N",
                   help="BertEncoderDecoder, saved_model and tflite only: beam search width (default 1, greedy)")
    p.add_argument("--written-spacing", action=argparse.BooleanOptionalAction,
                   help="BertEncoderDecoder only: punctuation in the text spaced as written (\"T-Shirt, 2.5\"), not "
                        "as transformers' decode leaves it (default: the run's, recorded in run.json, else no)")
    p.set_defaults(run=export)

    p = commands.add_parser(
        "compress", help="distil, prune and quantize a classify run into a new run folder that export ships",
        add_help=False)
    p.add_argument("-h", "--help", action="store_true", help="show the command's flags")
    p.set_defaults(run=compress, passthrough=True, parser=p)

    p = commands.add_parser("evaluate", help="score an exported classifier on a labelled TSV")
    p.add_argument("model", help="SavedModel folder, or a base path whose latest version is used")
    p.add_argument("--file", required=True, help="GLUE-style TSV with a header")
    p.add_argument("--text-columns", default="sentence")
    p.add_argument("--label-column", default="label")
    p.add_argument("--task", default="sst2", help="GLUE task whose metrics to print")
    p.add_argument("--batch-size", type=int, default=64)
    p.set_defaults(run=evaluate)

    p = commands.add_parser(
        "predict", help="run an exported model on raw text, locally or on TF Serving",
        description="TEXT fills the one input that no flag gives (text, text_a, question): the other input of "
                    "a pair model comes from --text-b, --context, --choice or --input NAME=TEXT, once for all TEXTs "
                    "or once per TEXT.")
    p.add_argument("model", metavar="MODEL", help="SavedModel folder or base path (latest version), a .tflite "
                                                  "file, an .onnx file with the tokenizer files its export "
                                                  "wrote beside it, or an ONNX generator folder (NAME_onnx/); "
                                                  "with --server/--rest, the served model's name or path")
    p.add_argument("text", metavar="TEXT", nargs="+", help="one example each (the choices of one example when "
                                                            "TEXT fills a multiple-choice model's `choices`)")
    p.add_argument("--text-b", action="append", metavar="TEXT", help="second sentence of a pair model (text_b)")
    p.add_argument("--context", action="append", metavar="TEXT",
                   help="passage of a question-answering or multiple-choice model")
    p.add_argument("--choice", action="append", metavar="TEXT", help="one candidate of a multiple-choice model "
                                                                     "(repeat it)")
    p.add_argument("--input", action="append", metavar="NAME=TEXT", help="any other input by name")
    p.add_argument("--json", action="store_true", help="print a JSON list of {inputs, outputs}, one per example")
    p.add_argument("--server", metavar="HOST:PORT", help="TF Serving's gRPC address (e.g. localhost:8500)")
    p.add_argument("--rest", metavar="URL", help="TF Serving's REST address (e.g. http://localhost:8501)")
    p.add_argument("--model-name", help="served model name (default: MODEL's folder name)")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds each request to TF Serving may take, the whole answer included (default 30)")
    p.set_defaults(run=predict)
    for p in commands.choices.values():  # --verbose after the command works too (it never reaches a task)
        p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def main(argv=None):
    args, rest = build_parser().parse_known_args(argv)
    if args.verbose:
        quiet.set_verbose()  # a task run by `train` sees it too
    # Every command but `presets` and `train --help` needs TensorFlow: import it without its start-up lines.
    if args.run is not list_presets and getattr(args, "task", "") is not None:
        quiet.import_tensorflow()
    if getattr(args, "passthrough", False):
        args.run(args, rest)
    elif rest:
        raise SystemExit(f"error: unrecognized arguments: {' '.join(rest)}")
    else:
        args.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
