"""What every training task shares: flags, default data, strategy and precision, model loading, the fit
loop with resumable backups, and the run folder that `keras-bert-zoo export` reads back.

A task (keras_bert_zoo/tasks/, run by recipes/<task>.py and `keras-bert-zoo train TASK`) reads like this
(see keras_bert_zoo/tasks/classify.py):

    args = parser.parse_args()               # after runs.add_common_flags(parser, ...)
    strategy = runs.configure(args, "--train-file", "--dev-file")  # an error line for a missing data file;
                                             # also makes this run the only one using args.model_dir
    with strategy.scope():
        encoder, preprocessor = runs.load_encoder_and_preprocessor(args.checkpoint, args.sequence_length)
        model = kbz.BertClassifier(encoder, num_classes=2, label_names=[...], preprocessor=preprocessor)
        runs.compile(model, args, steps_per_epoch, loss=..., metrics=[...])
    runs.fit(model, args, make_train_dataset, steps_per_epoch, validation_data=dev_ds)
    runs.save_run_info(args.model_dir, export_dir=args.export_dir, card=...)
    kbz.export.saved_model(model, args.export_dir, card=...)
    runs.finish(args.model_dir)              # the outputs are written: the backup goes

Killed at any point (kill -9 included), the same command resumes: during `fit` from the last backup,
after it from the end of training, going on to write the outputs.
"""

import argparse
import fcntl
import gc
import json
import math
import os
import shlex
import shutil
import socket
import sys
import warnings
from pathlib import Path

import keras
import tensorflow as tf

from keras_bert_zoo import loading, presets
from keras_bert_zoo.distribute import STRATEGIES, get_strategy
from keras_bert_zoo.progress import progress_interval
from keras_bert_zoo.training.backup import ResumableBackupAndRestore, replayable_epochs
from keras_bert_zoo.training.callbacks import default_callbacks
from keras_bert_zoo.training.keras_file import save_keras
from keras_bert_zoo.training.optimizer import create_optimizer
from keras_bert_zoo.training.progress import ProgressLogger

# The samples the repository ships beside its recipes, the tasks' default data: a source checkout has them,
# an installed package does not (`require_files` then names the flag that gives the file).
SHIPPED_DATA = Path(__file__).resolve().parents[2] / "recipes" / "data"
RUN_INFO = "run.json"
LOCK = ".lock"
_locks = {}  # model dir -> the open lock file by which this process holds it


def task_parser(description, prog=None):
    """An argument parser for a task, its module docstring shown as written (`prog`: the usage line's command)."""
    return argparse.ArgumentParser(prog=prog, description=description,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_common_flags(parser, checkpoint, model_dir, export_dir, learning_rate=5e-5, batch_size=32,
                     sequence_length=128, epochs=1, random_init=False):
    """Flags every task takes; the defaults run on the data the repository ships."""
    parser.add_argument("--checkpoint", default=checkpoint,
                        help="preset name, Hugging Face folder or Google checkpoint folder")
    parser.add_argument("--random-init", action=argparse.BooleanOptionalAction, default=random_init,
                        help="start the preset's architecture from random weights (a preset loads real ones "
                             "otherwise, or says where to get them)")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=batch_size, help="global batch size")
    parser.add_argument("--sequence-length", type=int, default=sequence_length)
    parser.add_argument("--learning-rate", type=float, default=learning_rate, help="peak, after warmup")
    parser.add_argument("--warmup-fraction", type=float, default=0.1)
    parser.add_argument("--max-train-examples", type=int, help="use only the first N training examples")
    parser.add_argument("--strategy", default="auto", choices=STRATEGIES)
    parser.add_argument("--tpu", help="TPU name or grpc://host:8470 address for --strategy tpu/auto "
                                      "(default: this VM's TPU or $TPU_NAME)")
    parser.add_argument("--mixed-precision", action=argparse.BooleanOptionalAction, default=False,
                        help="float16 on GPU, bfloat16 on TPU/CPU")
    parser.add_argument("--jit-compile", action=argparse.BooleanOptionalAction, default=False, help="XLA")
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument("--model-dir", default=model_dir, help="TensorBoard logs, checkpoints, backups")
    parser.add_argument("--backup-every", type=int, default=50,
                        help="batches between backups; a killed run restarted with the same command resumes there")
    parser.add_argument("--export-dir", default=export_dir, help="SavedModel base path (versions inside)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def shipped_data(*parts):
    """The path of a sample in the repository's recipes/data/ (`SHIPPED_DATA`), a task's default data file.

    >>> shipped_data("sst2", "train.tsv").relative_to(SHIPPED_DATA.parents[1]).as_posix()
    'recipes/data/sst2/train.tsv'
    """
    return SHIPPED_DATA.joinpath(*parts)


def require_files(*flags_and_paths):
    """Exits with an `error:` line naming the flag when a data file is missing, before the run starts.

    Each argument is `(flag, path)`, the path a file, a list of files or None (not given: nothing to check).
    A missing shipped sample (`shipped_data`: a default) means an installed package, which has no
    recipes/data/; the error says which flag gives the file.

    >>> require_files(("--train-file", None))
    >>> require_files(("--train-file", ["no/such/train.tsv"]))
    Traceback (most recent call last):
    SystemExit: error: --train-file no/such/train.tsv: no such file.
    """
    for flag, paths in flags_and_paths:
        for path in [] if paths is None else paths if isinstance(paths, (list, tuple)) else [paths]:
            if Path(path).is_file():
                continue
            if Path(path).resolve().is_relative_to(SHIPPED_DATA):
                raise SystemExit(f"error: {path} not found: it is a sample shipped in recipes/data/ of a source "
                                 f"checkout, which an installed package does not have. Give the file with {flag}.")
            raise SystemExit(f"error: {flag} {path}: no such file.")


def configure(args, *data_flags):
    """Checks the data files that the flags `data_flags` (e.g. "--train-file") gave or defaulted to
    (`require_files`), then locks `args.model_dir` (`lock_model_dir`), seeds everything, sets the precision
    policy and returns the tf.distribute strategy."""
    require_files(*((flag, getattr(args, flag.removeprefix("--").replace("-", "_"))) for flag in data_flags))
    lock_model_dir(args.model_dir)
    keras.utils.set_random_seed(args.seed)
    strategy = get_strategy(args.strategy, tpu=args.tpu)
    if args.mixed_precision:
        on_gpu = bool(tf.config.list_logical_devices("GPU"))
        keras.mixed_precision.set_global_policy("mixed_float16" if on_gpu else "mixed_bfloat16")
    return strategy


def lock_model_dir(model_dir):
    """Makes this process the only run using `model_dir` until `finish`, or exits naming the run that is.

    Two runs in one folder would each resume from, and delete, the other's backups. The lock is an
    flock on `model_dir/.lock`, which records its holder (pid, host, command); the kernel releases it
    when that process ends, however it ends, so a killed run's folder is free for its restart.
    """
    path = Path(model_dir).resolve() / LOCK
    if path in _locks:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    file = open(path, "a+")
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.seek(0)
        holder = file.read()
        file.close()
        raise SystemExit(f"error: --model-dir {model_dir} is in use by another run ({holder}). Wait for it to end "
                         "or pick another --model-dir.") from None
    file.truncate(0)
    file.write(f"pid {os.getpid()} on {socket.gethostname()}: {shlex.join(sys.orig_argv)}")
    file.flush()
    _locks[path] = file


def finish(model_dir):
    """Ends a run whose outputs are written: deletes its backup (kept by `fit`) and unlocks `model_dir`."""
    shutil.rmtree(Path(model_dir) / "backup", ignore_errors=True)
    file = _locks.pop(Path(model_dir).resolve() / LOCK, None)
    if file is not None:
        file.truncate(0)
        file.close()  # releases the flock


def load_encoder_and_preprocessor(checkpoint, sequence_length, random_init=False, **encoder_kwargs):
    """A BertEncoder and its matching BertPreprocessor from a preset name or a checkpoint folder.

    Prints where the weights came from. A preset without weights is an error unless `random_init`
    (`--random-init`) asks for its architecture with random weights. The preprocessor truncates at
    `sequence_length` and pads each batch to its longest row.
    """
    if checkpoint in presets.names():
        found = loading.announce(checkpoint, random_init)
        weights = found and found.folder
        return (loading.load(checkpoint, weights=weights, model_class=loading.BACKBONE, **encoder_kwargs),
                loading.load_preprocessor(checkpoint, weights=weights, sequence_length=sequence_length,
                                          padding="longest"))
    if not Path(checkpoint).is_dir():
        raise SystemExit(f"error: --checkpoint {checkpoint} is neither a preset (keras-bert-zoo presets) "
                         "nor a checkpoint folder.")
    if random_init:
        raise SystemExit("error: --random-init takes a preset name as --checkpoint (its architecture); "
                         f"{checkpoint} is a checkpoint folder, whose weights load without it.")
    print(f"weights: checkpoint folder {checkpoint}")
    return (loading.load(checkpoint, model_class=loading.BACKBONE, **encoder_kwargs),
            loading.load_preprocessor(checkpoint, sequence_length=sequence_length, padding="longest"))


def count_batches(dataset):
    """The number of batches in one pass of `dataset` (iterates it once when its cardinality is unknown)."""
    cardinality = int(dataset.cardinality())
    if cardinality >= 0:
        return cardinality
    return int(dataset.reduce(0, lambda count, _: count + 1))


def compile(model, args, steps_per_epoch, loss, metrics=None, **compile_kwargs):
    """Compiles with BERT's AdamW (warmup, then linear decay to 0 over all epochs) and the run's flags.

    Call inside `strategy.scope()`, so the optimizer's variables are mirrored like the model's.
    """
    steps = args.epochs * steps_per_epoch
    model.compile(
        optimizer=create_optimizer(args.learning_rate, steps, int(args.warmup_fraction * steps)),
        loss=loss,
        metrics=metrics,
        jit_compile=args.jit_compile,
        steps_per_execution=args.steps_per_execution,
        **compile_kwargs,
    )
    # Outside a strategy, Keras builds the optimizer inside the first trace of the train function, which
    # creates variables there, so tf.function traces it all again: built now, the first step traces once.
    model.optimizer.build(model.trainable_variables)


def fit(model, args, make_train_dataset, steps_per_epoch, validation_data=None, monitor=None, mode="min",
        progress_seconds=None):
    """`model.fit` over `args.epochs` replayable passes with the default callbacks in `args.model_dir`.

    `make_train_dataset(seed)` builds one shuffled pass. Backups every `args.backup_every` batches let a
    killed run, restarted with the same command, resume at the last backup (see `default_callbacks`).
    The backup outlives `fit` until `finish`: restarted after `fit` ended, the run trains no more.
    `monitor` picks `best.keras` (default: "val_loss" with validation data, else "loss").

    Prints a `training: ...` line first. In a terminal Keras draws its progress bar; otherwise (nohup,
    `| tee`, CI) a `ProgressLogger` prints a line every `progress_seconds` (default
    $KERAS_BERT_ZOO_PROGRESS_SECONDS, else 30) with the step, loss, metrics, steps/s and ETA, and one
    line per epoch. Returns `model.fit`'s history.
    """
    train = _without_autotune_thread(replayable_epochs(make_train_dataset, args.epochs, seed=args.seed))
    if isinstance(validation_data, tf.data.Dataset):
        validation_data = _without_autotune_thread(validation_data)
    monitor = monitor or ("val_loss" if validation_data is not None else "loss")
    callbacks = default_callbacks(args.model_dir, monitor=monitor, mode=mode, backup_save_freq=args.backup_every,
                                  dataset_spans_epochs=True, keep_backup=True)
    terminal = sys.stdout.isatty()
    interval = progress_interval(progress_seconds)
    print(f"training: {args.epochs} epoch{'s' if args.epochs != 1 else ''} of {steps_per_epoch:,} steps, batches of "
          f"{args.batch_size}, peak learning rate {args.learning_rate:g}, in {args.model_dir}"
          + ("" if terminal else f" (progress every {interval:g} s)"), flush=True)
    if not terminal:  # log file: no progress bars, which it cannot redraw, but a line every `interval` seconds
        # The progress counts from where the backup resumed.
        backup = next(callback for callback in callbacks if isinstance(callback, ResumableBackupAndRestore))
        callbacks.append(ProgressLogger(interval, batch_size=args.batch_size,
                                        resumed_from=lambda: getattr(backup, "resumed_from", None)))
    with warnings.catch_warnings():
        # Token-level heads (NER, SQuAD) leave the encoder's [CLS] pooler unused: expected, not worth a warning.
        warnings.filterwarnings("ignore", message=r"Gradients do not exist for variables \['pooled_dense")
        history = model.fit(train, epochs=args.epochs, steps_per_epoch=steps_per_epoch,
                            validation_data=validation_data, callbacks=callbacks,
                            shuffle=False,  # the passes are shuffled already
                            verbose=1 if terminal else 0)
    # The traced train and validation steps go before export and evaluation trace their own (Keras rebuilds
    # them if the model trains again): their graphs' memory is reused instead of added to.
    model.train_function = model.test_function = None
    gc.collect()
    return history


def _without_autotune_thread(dataset):
    """`dataset` without tf.data's autotuning thread. Deleting an iterator waits for that thread's current
    sleep (up to a minute) to end: `fit` returned 13-60 s late in some runs (gdb: the main thread in
    ~RootDataset::Iterator, the thread in Model::OptimizeLoop). Parallel calls then keep tf.data's default
    parallelism (about one per core)."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def steps_per_epoch(num_examples, batch_size):
    """Batches in one pass over `num_examples` (the last one may be short)."""
    return math.ceil(num_examples / batch_size)


def save_run_info(model_dir, export_dir=None, card=None, generation=None, written_spacing=None):
    """Writes `<model_dir>/run.json`: what the run knows beyond its model, for `keras-bert-zoo export MODEL_DIR`.

    `export_dir` (the recipe's --export-dir, e.g. saved_models/sst2) records the name the run exported
    under (sst2), which `keras-bert-zoo export` then uses by default; runs without it use their folder's name.
    `card` (see `card_facts`) records the model card facts the recipe's export had, for the card of
    every later export. The model itself carries its preprocessor and serving options (`BertTask`); an
    encoder-decoder's decoding is the run's: `generation` ({max_length, num_beams, ...}) and `written_spacing`.
    """
    info = {}
    if export_dir is not None:
        info["export_name"] = Path(export_dir).name
    if card is not None:
        info["card"] = card
    if generation is not None:
        info["generation"] = generation
    if written_spacing is not None:
        info["written_spacing"] = written_spacing
    path = Path(model_dir) / RUN_INFO
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info))


def save_model(model, model_dir):
    """Saves the final `model` as `<model_dir>/last.keras`, e.g. after setting a decoding option that only
    evaluation could choose (SQuAD's null score threshold), so that later exports read it."""
    save_keras(model, Path(model_dir) / "last.keras")


def base_model(args):
    """The checkpoint a run started from, as a model card names it: None for a preset with `--random-init`, a
    preset's Hugging Face name (else its own), or the checkpoint folder."""
    if args.checkpoint in presets.names():
        return None if args.random_init else presets.get(args.checkpoint).hf_name or args.checkpoint
    return str(args.checkpoint)


def card_facts(args, argv, recipe, training_data, metrics, prog=None):
    """The model card facts a task knows (`keras_bert_zoo.export.model_card`): the base checkpoint, the
    training data (`training_data`, e.g. "SST-2 sample: 2000 training sentences"), `metrics` {name: value}
    (rounded to 4 places) and the command: `<prog> <argv>` when the task ran as `prog` (e.g. "keras-bert-zoo
    train ner"), else `python recipes/<recipe's file name> <argv>`, or this process' when `argv` is None.

    >>> args = argparse.Namespace(checkpoint="ckpt", random_init=False)
    >>> card_facts(args, ["--epochs", "2"], "tasks/ner.py", "CoNLL", {"F1": 0.912345})["command"]
    'python recipes/ner.py --epochs 2'
    >>> card_facts(args, ["--epochs", "2"], "tasks/ner.py", "CoNLL", {}, prog="keras-bert-zoo train ner")["command"]
    'keras-bert-zoo train ner --epochs 2'
    """
    if prog is not None:
        command = [*shlex.split(prog), *(sys.argv[1:] if argv is None else argv)]
    else:
        command = ["python", *sys.argv] if argv is None else ["python", f"recipes/{Path(recipe).name}", *argv]
    return {"base_model": base_model(args), "training_data": training_data,
            "metrics": {name: round(float(value), 4) for name, value in metrics.items()},
            "command": shlex.join(map(str, command))}


def run_info(model_dir):
    """The run's `run.json` as a dict ({} when there is none or it is unreadable): `export_name`, `card`."""
    try:
        info = json.loads((Path(model_dir) / RUN_INFO).read_text())
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def model_file(model_dir, which="best"):
    """The `.keras` file of a finished run written by a recipe: the task model, its preprocessor inside.

    `which`: "best" (the best validation checkpoint, falling back to the last when the run had no
    validation data) or "last".

    Example:
    >>> model = kbz.load(model_file("runs/classify"))  # doctest: +SKIP
    >>> kbz.export.saved_model(model, "saved_models/sst2")  # doctest: +SKIP
    """
    model_dir = Path(model_dir)
    if which not in ("best", "last"):
        raise ValueError(f'which must be "best" or "last", got {which!r}.')
    candidates = [model_dir / f"{which}.keras"] + ([model_dir / "last.keras"] if which == "best" else [])
    found = next((path for path in candidates if path.is_file()), None)
    if found is None:
        raise FileNotFoundError(f"{model_dir} is not a finished run: it needs {candidates[0].name} (or last.keras), "
                                "which recipes write during training (nor a Hugging Face or Google checkpoint "
                                "folder, which `keras-bert-zoo export` also takes).")
    return found
