"""The accuracy-speed-size frontier of compressing the main job's classifier (issue 20): SST-2 dev accuracy,
file size and latency text -> probabilities at batch 1 and 32 of the teacher, its distilled students, its
pruned copies and their quantized forms, as a markdown table and a plot (benchmarks/compression_frontier.png).

    python benchmarks/compression.py                        # teacher runs/classify; students distilled first
    python benchmarks/compression.py --students runs/distill  # students of an earlier `recipes/distill.py` run

Models: the teacher (`--teacher`, the main job's run: all-MiniLM-L6-v2 fine-tuned on the SST-2 sample); students
of 3 and 2 layers distilled from it (`recipes/distill.py` defaults, or `--students DIR` with L3/ and L2/);
the teacher with 20/40/60% of its heads or 30% of its feed-forward neurons pruned, and each student with 40% of
its heads pruned (`kbz.compress.prune`, ranked by `gate_importance` on 256 training sentences, no fine-tuning).
Forms: `fp32` and `Keras int8` (`quantize_int8`) run as SavedModels in TensorFlow; `TFLite dyn-int8` (int8
weights) and `TFLite int8` (int8 weights and activations, calibrated on 200 training sentences) in LiteRT.
Every form takes raw strings (its tokenizer inside). Latency: 2 threads (TensorFlow's intra-op pool, LiteRT's
`num_threads`); batch 1 is each of the first 32 dev sentences, batch 32 the first 32 at once; the variants are
timed in interleaved rounds (--rounds; each variant's calls in a round follow untimed ones), and each figure
is the median call. Size: the SavedModel folder or the
.tflite file. Ratios are to the fp32 teacher of the same run.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from keras_bert_zoo.quiet import import_tensorflow

tf = import_tensorflow()
tf.config.threading.set_intra_op_parallelism_threads(2)  # before TensorFlow's runtime starts
tf.config.threading.set_inter_op_parallelism_threads(1)

import numpy as np  # noqa: E402

import keras_bert_zoo as kbz  # noqa: E402
from keras_bert_zoo.compress import gate_importance, prune, quantize_int8  # noqa: E402
from keras_bert_zoo.training import runs  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compress_variants import DATA, read  # noqa: E402

PLOT = Path(__file__).resolve().parent / "compression_frontier.png"
THREADS = 2


class SavedModelForm:
    def __init__(self, model, path):
        self.path = kbz.export.saved_model(model, path)
        self.signature = tf.saved_model.load(str(self.path)).signatures["serving_default"]
        self.size = sum(f.stat().st_size for f in Path(self.path).rglob("*") if f.is_file())

    def __call__(self, texts):
        return self.signature(text=tf.constant(texts))["probabilities"].numpy()


class TfliteForm:
    def __init__(self, model, path, quantization, representative):
        self.path = kbz.export.tflite(model, path, quantization, representative if quantization == "int8" else None)
        self.runner = kbz.export.tflite_interpreter(self.path, num_threads=THREADS).get_signature_runner()
        self.size = Path(self.path).stat().st_size

    def __call__(self, texts):
        return self.runner(text=np.array(texts, object))["probabilities"]


def models(teacher, students, train_texts, train_labels):
    """[(name, layers, Keras model)]: the teacher, the students, the pruned ones."""
    data = tf.data.Dataset.from_tensor_slices((teacher.preprocessor(train_texts[-256:]), train_labels[-256:]))
    data = data.batch(32)
    importance = gate_importance(teacher, data)
    found = [("teacher", teacher)]
    found += [(f"heads -{int(100 * f)}%", prune(teacher, heads=f, importance=importance)) for f in (0.2, 0.4, 0.6)]
    found.append(("FFN -30%", prune(teacher, ffn=0.3, importance=importance)))
    for layers, student in students.items():
        found.append((f"L{layers}", student))
        found.append((f"L{layers} heads -40%", prune(student, heads=0.4, importance=gate_importance(student, data))))
    return found


FORMS = {  # which forms each model is measured in
    "teacher": ("fp32", "Keras int8", "TFLite dyn-int8", "TFLite int8"),
    "L3": ("fp32", "Keras int8", "TFLite dyn-int8", "TFLite int8"),
    "L2": ("fp32", "Keras int8", "TFLite dyn-int8", "TFLite int8"),
    "L3 heads -40%": ("fp32", "TFLite dyn-int8", "TFLite int8"),
    "L2 heads -40%": ("fp32", "TFLite dyn-int8", "TFLite int8"),
}
PRUNED_FORMS = ("fp32", "TFLite dyn-int8")


def build_form(model, form, folder, representative):
    if form == "fp32":
        return SavedModelForm(model, folder / "fp32")
    if form == "Keras int8":
        return SavedModelForm(quantize_int8(model), folder / "keras_int8")
    quantization = {"TFLite dyn-int8": "dynamic_int8", "TFLite int8": "int8"}[form]
    return TfliteForm(model, folder / f"{quantization}.tflite", quantization, representative)


def accuracy(form, texts, labels):
    """Labels are class ids: the main job's are the TSV's sorted labels "0" and "1" (`label_vocabulary`)."""
    predicted = np.concatenate([form(texts[i:i + 32]).argmax(-1) for i in range(0, len(texts), 32)])
    return float(np.mean(predicted == labels))


def time_calls(form, batches):
    times = []
    for batch in batches:
        start = time.perf_counter()
        form(batch)
        times.append(time.perf_counter() - start)
    return times


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"fp32": "tab:blue", "Keras int8": "tab:orange", "TFLite dyn-int8": "tab:green", "TFLite int8": "tab:red"}
    figure, axes = plt.subplots(1, 2, figsize=(13, 5.5), sharey=True)
    for axis, key, title in ((axes[0], "batch_1_ms", "batch 1"), (axes[1], "batch_32_ms", "batch 32")):
        for row in rows:
            axis.scatter(row[key], row["accuracy"], s=row["size"] / 2**20 * 4, color=colors[row["form"]], alpha=0.6,
                         edgecolors="black", linewidths=0.5)
            axis.annotate(row["model"], (row[key], row["accuracy"]), fontsize=7, xytext=(3, 3),
                          textcoords="offset points")
        axis.set_xscale("log")
        axis.set_xlabel(f"latency text -> probabilities, {title} (ms, {THREADS} threads, log scale)")
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("SST-2 dev accuracy")
    for form, color in colors.items():
        axes[1].scatter([], [], color=color, label=form)
    axes[1].legend(title="form (marker area: file size)", loc="lower right")
    figure.suptitle("Compressing all-MiniLM-L6-v2 fine-tuned on SST-2: accuracy vs latency")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default="runs/classify", help="the main job's run folder (or a .keras file)")
    parser.add_argument("--students", help="a recipes/distill.py --model-dir with L3/ and L2/ (default: distil now)")
    parser.add_argument("--work", help="where the exports go (default: a temporary folder)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    parser.add_argument("--plot", default=PLOT)
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="kbz-frontier-"))
    teacher_file = Path(args.teacher) if args.teacher.endswith(".keras") else runs.model_file(args.teacher)
    teacher = kbz.load(teacher_file)
    texts, labels = read(DATA / "dev.tsv")
    train_texts, train_labels = read(DATA / "train.tsv")
    students_dir = Path(args.students or work / "distill")
    if not args.students:
        from keras_bert_zoo.tasks import distill

        distill.main(["--teacher", str(teacher_file), "--model-dir", str(students_dir), "--latency-runs", "3"])
    students = {layers: kbz.load(runs.model_file(students_dir / f"L{layers}")) for layers in (3, 2)}
    print(f"teacher {teacher_file}, students {students_dir}; exports in {work}; load {os.getloadavg()[0]:.1f}",
          flush=True)

    rows = []
    for name, model in models(teacher, students, train_texts, train_labels):
        for form in FORMS.get(name, PRUNED_FORMS):
            folder = work / name.replace(" ", "_").replace("%", "").replace("-", "m")
            built = build_form(model, form, folder, train_texts[:200])
            rows.append({"model": name, "form": form, "layers": model.encoder.num_layers, "runner": built,
                         "size": built.size, "accuracy": accuracy(built, texts, labels),
                         "batch_1": [], "batch_32": []})
            print(f"{name:<16} {form:<16} dev accuracy {rows[-1]['accuracy']:.4f}  {built.size / 2**20:6.1f} MiB",
                  flush=True)

    singles, batch = [[text] for text in texts[:32]], [texts[:32]]
    loads = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for row in rows:
            # Untimed calls first: without them, with two dozen models in one process, fp32 variants timed up to
            # 1.5x slower than in a process of their own (each one's cached state lost to the one timed before).
            time_calls(row["runner"], singles[:2] + batch)
            row["batch_1"] += time_calls(row["runner"], singles)
            row["batch_32"] += time_calls(row["runner"], batch * 3)
        loads.append(os.getloadavg()[0])
    for row in rows:
        row["batch_1_ms"] = 1000 * statistics.median(row.pop("batch_1"))
        row["batch_32_ms"] = 1000 * statistics.median(row.pop("batch_32"))
    report(rows, loads)
    plot(rows, args.plot)
    print(f"plot: {args.plot}")


def report(rows, loads):
    base = rows[0]
    print(f"\n1-minute load average during the timing rounds: {min(loads):.1f}-{max(loads):.1f}")
    print("| model | layers | form | dev accuracy | vs teacher | size MiB | batch 1 ms | speed-up | batch 32 ms | "
          "speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['model']} | {row['layers']} | {row['form']} | {row['accuracy']:.4f} | "
              f"{row['accuracy'] / base['accuracy']:.3f}x | {row['size'] / 2**20:.1f} | {row['batch_1_ms']:.2f} | "
              f"{base['batch_1_ms'] / row['batch_1_ms']:.2f}x | {row['batch_32_ms']:.1f} | "
              f"{base['batch_32_ms'] / row['batch_32_ms']:.2f}x |")
    l3 = next(row for row in rows if (row["model"], row["form"]) == ("L3", "fp32"))
    heads40 = next(row for row in rows if (row["model"], row["form"]) == ("heads -40%", "fp32"))
    keeping = [row for row in rows if row["accuracy"] >= 0.96 * base["accuracy"]]
    best = max(keeping, key=lambda row: min(base["batch_1_ms"] / row["batch_1_ms"],
                                            base["batch_32_ms"] / row["batch_32_ms"]))
    print(f"\nL3 fp32: {l3['accuracy'] / base['accuracy']:.3f}x the teacher's accuracy (goal >= 0.97), "
          f"{base['batch_1_ms'] / l3['batch_1_ms']:.2f}x / {base['batch_32_ms'] / l3['batch_32_ms']:.2f}x its speed "
          "at batch 1 / 32 (goal >= 1.9x)")
    print(f"40% of heads pruned: {100 * (base['accuracy'] - heads40['accuracy']):+.2f} points lost (goal <= 1)")
    print(f"fastest model keeping >= 96% of the accuracy: {best['model']}, {best['form']}: "
          f"{best['accuracy'] / base['accuracy']:.3f}x the accuracy, {base['batch_1_ms'] / best['batch_1_ms']:.2f}x / "
          f"{base['batch_32_ms'] / best['batch_32_ms']:.2f}x the speed at batch 1 / 32 (goal >= 4x)")


if __name__ == "__main__":
    main()
