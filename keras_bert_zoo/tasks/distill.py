"""Distil a fine-tuned SST-2 classifier into students of fewer layers, and compare them with their teacher.

With no arguments the teacher is the main job's model: runs/classify (all-MiniLM-L6-v2 fine-tuned on the
SST-2 sample by `recipes/classify.py`, trained first when that run folder has no model yet), or the run
folder or `.keras` file given by --teacher. Each student (--student-layers, default 3 and 2) starts from
alternate teacher layers (DistilBERT's initialisation, `kbz.compress.student_from_layers`) and trains
with `kbz.compress.Distiller` on the same sentences: alpha x cross-entropy on the labels + (1 - alpha) x the
teacher's soft targets at --temperature (+ hidden-state and attention terms with --hidden-weight,
--attention-weight). Each student is written as a run folder, <model-dir>/L<n>/ (last.keras and run.json),
that `keras-bert-zoo export` ships. The last lines printed compare dev accuracy, `.keras` size and latency
(batch 1 and 32, --threads CPU threads) of the teacher and each student.

    python recipes/distill.py                          # or: keras-bert-zoo train distill
    python recipes/distill.py --teacher runs/classify --student-layers 3 --max-train-examples 2000
"""

import argparse
import statistics
import time
from pathlib import Path

from keras_bert_zoo.quiet import import_tensorflow

import_tensorflow()  # without its start-up log lines (KERAS_BERT_ZOO_VERBOSE=1 shows them)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_bert_zoo as kbz  # noqa: E402
from keras_bert_zoo.compress import Distiller, alternate_layers, student_from_layers  # noqa: E402
from keras_bert_zoo.data import classification_dataset, label_vocabulary, read_glue_tsv  # noqa: E402
from keras_bert_zoo.training import runs  # noqa: E402
from keras_bert_zoo.training.keras_file import save_keras  # noqa: E402
from keras_bert_zoo.training.optimizer import create_optimizer  # noqa: E402

DATA = runs.shipped_data("sst2")
MAIN_JOB = "runs/classify"


def parser(prog=None):
    """The task's flags (`prog`: the command shown in its usage line, default the script's name)."""
    parser = runs.task_parser(__doc__, prog)
    parser.add_argument("--teacher", default=MAIN_JOB,
                        help="a finished classify run folder (best.keras/last.keras) or a classifier's .keras file; "
                             f"{MAIN_JOB} is trained first when it holds no model")
    parser.add_argument("--student-layers", default="3,2", help="the students' layer counts, comma-separated")
    parser.add_argument("--train-file", default=DATA / "train.tsv")
    parser.add_argument("--dev-file", default=DATA / "dev.tsv")
    parser.add_argument("--text-column", default="sentence")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--alpha", type=float, default=0.5, help="weight of the hard-label loss")
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--hidden-weight", type=float, default=0.0, help="weight of the hidden-state MSE term")
    parser.add_argument("--attention-weight", type=float, default=0.0, help="weight of the attention KL term")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of the latency measurement (and run)")
    parser.add_argument("--latency-runs", type=int, default=50, help="timed calls per batch size (median)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    # 3e-4: students of 3 and 2 layers kept 99.6% and 98% of the teacher's accuracy (1e-4: 98.4% for 3 layers).
    parser.add_argument("--learning-rate", type=float, default=3e-4, help="peak, after warmup")
    parser.add_argument("--warmup-fraction", type=float, default=0.1)
    parser.add_argument("--max-train-examples", type=int, help="use only the first N training examples")
    parser.add_argument("--model-dir", default="runs/distill", help="one run folder per student: L<n>/")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv=None, prog=None, student_dir=None):
    """Distils, evaluates and compares as the flags in `argv` (default: the command line's) say.

    `student_dir(layers)`: the run folder of the student of `layers` layers (default <model-dir>/L<layers>);
    `keras-bert-zoo compress` names its own.
    """
    args = parser(prog).parse_args(argv)
    _use_threads(args.threads)  # before TensorFlow's runtime starts
    runs.require_files(("--train-file", args.train_file), ("--dev-file", args.dev_file))
    runs.lock_model_dir(args.model_dir)
    keras.utils.set_random_seed(args.seed)
    layer_counts = [int(n) for n in args.student_layers.split(",")]

    teacher_file = _teacher_file(args, argv)
    teacher = keras.saving.load_model(teacher_file, compile=False)  # a run's file: its training state not needed
    if not isinstance(teacher, kbz.BertClassifier) or teacher.preprocessor is None:
        raise SystemExit(f"error: --teacher {args.teacher}: a classifier carrying its preprocessor is needed, as "
                         f"recipes/classify.py writes; this is a {type(teacher).__name__}.")
    print(f"teacher: {teacher_file} ({teacher.encoder.num_layers} layers)", flush=True)

    train = read_glue_tsv(args.train_file, [args.text_column], args.label_column)
    dev = read_glue_tsv(args.dev_file, [args.text_column], args.label_column)
    labels = label_vocabulary(train.labels)
    num_train = min(len(train.labels), args.max_train_examples or len(train.labels))
    preprocessor = teacher.preprocessor

    def dataset(examples, **options):
        return classification_dataset(examples, preprocessor, args.batch_size, label_names=labels,
                                      bucket_by_sequence_length=True, **options)

    dev_ds = dataset(dev)
    train_ds = dataset(train, shuffle=True, seed=args.seed, max_examples=num_train)
    steps = runs.count_batches(train_ds) * args.epochs
    sample = preprocessor(list(dev.texts[0][:32]))
    # The teacher's file as a student's is written: the model alone (a run's .keras also holds its optimizer).
    teacher_alone = Path(args.model_dir) / "teacher.keras"
    teacher_alone.parent.mkdir(parents=True, exist_ok=True)
    save_keras(student_from_layers(teacher, range(teacher.encoder.num_layers)), teacher_alone)
    rows = [_measure("teacher", teacher, teacher_alone, dev_ds, sample, args.latency_runs)]
    for count in layer_counts:
        layers = alternate_layers(teacher.encoder.num_layers, count)
        student = student_from_layers(teacher, layers)
        print(f"student-L{count}: teacher layers {layers}, distilling on {num_train:,} sentences "
              f"({steps:,} steps)", flush=True)
        distiller = Distiller(teacher, student, alpha=args.alpha, temperature=args.temperature,
                              hidden_weight=args.hidden_weight, attention_weight=args.attention_weight)
        distiller.compile(optimizer=create_optimizer(args.learning_rate, steps, int(args.warmup_fraction * steps)),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        distiller.fit(train_ds, epochs=args.epochs, verbose=2, shuffle=False)  # the passes are shuffled already
        run = Path(student_dir(count) if student_dir else Path(args.model_dir) / f"L{count}")
        run.mkdir(parents=True, exist_ok=True)
        save_keras(student, run / "last.keras")
        row = _measure(f"student-L{count}", student, run / "last.keras", dev_ds, sample, args.latency_runs)
        card = runs.card_facts(_card_args(teacher_file), argv, __file__,
                               f"distilled from {teacher_file} on {num_train} SST-2 sentences",
                               {"dev accuracy": row["accuracy"]}, prog=prog)
        runs.save_run_info(run, export_dir=f"sst2_distilled_l{count}", card=card)
        rows.append(row)
    runs.finish(args.model_dir)
    print(f"{'model':<12} {'layers':>6} {'dev accuracy':>12} {'size MB':>8} {'batch 1 ms':>10} {'batch 32 ms':>11} "
          f"(latency: median of {args.latency_runs}, {args.threads} threads)")
    for row in rows:
        print(f"{row['name']:<12} {row['layers']:>6} {row['accuracy']:>12.4f} {row['size'] / 1e6:>8.1f} "
              f"{row['batch_1_ms']:>10.2f} {row['batch_32_ms']:>11.2f}")
    teacher_row = rows[0]
    for row in rows[1:]:
        print(f"{row['name']}: {row['accuracy'] / teacher_row['accuracy']:.3f}x the teacher's dev accuracy, "
              f"{teacher_row['batch_1_ms'] / row['batch_1_ms']:.2f}x its speed at batch 1, "
              f"{teacher_row['batch_32_ms'] / row['batch_32_ms']:.2f}x at batch 32, "
              f"{row['size'] / teacher_row['size']:.2f}x its size")


def _card_args(teacher_file):
    """What `runs.card_facts` reads of a run's flags: the base model is the teacher."""
    return argparse.Namespace(checkpoint=str(teacher_file), random_init=False)


def _use_threads(threads):
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # the runtime already started (several tasks in one process): keep its threads
        print(f"note: TensorFlow already runs; --threads {threads} is not applied", flush=True)


def _teacher_file(args, argv):
    """The teacher's .keras file: --teacher's, else the main job's run (trained now when it has no model)."""
    teacher = Path(args.teacher)
    if teacher.is_file():
        return teacher
    try:
        return runs.model_file(teacher)
    except FileNotFoundError:
        if str(args.teacher) != MAIN_JOB:
            raise SystemExit(f"error: --teacher {args.teacher} is neither a .keras file nor a finished run folder "
                             "(best.keras or last.keras inside).") from None
    from keras_bert_zoo.tasks import classify

    print(f"teacher: training the main job into {MAIN_JOB} (recipes/classify.py)", flush=True)
    classify.main(["--train-file", str(args.train_file), "--dev-file", str(args.dev_file), "--model-dir", MAIN_JOB,
                   *(["--max-train-examples", str(args.max_train_examples)] if args.max_train_examples else [])])
    return runs.model_file(teacher)


def _measure(name, model, file, dev_ds, sample, latency_runs):
    """Dev accuracy, .keras size and median latency (batch 1 and 32) of `model`."""
    correct = total = 0
    for x, y in dev_ds:
        correct += int(np.sum(np.argmax(model(x, training=False), -1) == y.numpy()))
        total += len(y)
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return {"name": name, "layers": model.encoder.num_layers, "accuracy": correct / total,
            "size": Path(file).stat().st_size,
            "batch_1_ms": _latency(forward, {k: v[:1] for k, v in sample.items()}, latency_runs),
            "batch_32_ms": _latency(forward, sample, latency_runs)}


def _latency(forward, inputs, latency_runs):
    """Median milliseconds of `forward(inputs)`, its result read back as numpy."""
    np.asarray(forward(inputs))  # traces
    times = []
    for _ in range(latency_runs):
        start = time.perf_counter()
        np.asarray(forward(inputs))
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)
