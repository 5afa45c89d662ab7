#!/usr/bin/env python
"""File size and SST-2 dev accuracy of a trained classifier: Keras vs TFLite per quantization vs ONNX.

Given a `BertClassifier` saved as .keras and the preset its tokenizer comes from, it exports
TFLite fp32, fp16, dynamic_int8 and int8 (calibrated on `--num-representative` train sentences)
with `kbz.export.tflite`, and ONNX fp32 with `kbz.export.onnx`; then it classifies every dev
sentence with each and prints a markdown table: file size, dev accuracy, its change against
Keras, how often the argmax agrees with Keras, and the wall time of the dev pass (batches of
`--batch-size`; noisy on a shared machine). TFLite takes the raw sentences (the tokenizer runs
inside the .tflite); Keras and ONNX take the ids our preprocessor makes. The Keras size is that
of its float32 weights (a .keras file may also hold the optimizer's state).

    python benchmarks/export_quality.py --model /tmp/sst2/run/best.keras                 # ~10 min on 2 cores
    python benchmarks/export_quality.py --model run/best.keras --preset all_minilm_l6_v2 --sequence-length 128
    python benchmarks/export_quality.py --model run/best.keras --formats keras,tflite-int8 --limit 200
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
FORMATS = ("keras", "tflite-fp32", "tflite-fp16", "tflite-dynamic_int8", "tflite-int8", "onnx-fp32")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a BertClassifier .keras file")
    parser.add_argument("--preset", default="all_minilm_l6_v2", help="preset whose tokenizer the model uses")
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--dev-file", default=str(ROOT / "recipes/data/sst2/dev.tsv"))
    parser.add_argument("--train-file", default=str(ROOT / "recipes/data/sst2/train.tsv"))
    parser.add_argument("--num-representative", type=int, default=200, help="train sentences int8 calibrates on")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--formats", default=",".join(FORMATS), help=f"comma-separated subset of {FORMATS}")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N dev sentences")
    parser.add_argument("--out-dir", default=None, help="where exported files go (default: a temporary folder)")
    return parser.parse_args()


def batches(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)]


def keras_predict(model, preprocessor, texts, batch_size):
    import numpy as np
    import tensorflow as tf

    return np.concatenate([
        model.predict_on_batch(preprocessor(tf.constant(batch))).argmax(-1) for batch in batches(texts, batch_size)
    ])


def tflite_predict(path, texts, batch_size):
    import numpy as np

    import keras_bert_zoo as kbz

    runner = kbz.export.tflite_interpreter(path).get_signature_runner()
    return np.concatenate([
        runner(text=np.array(batch, object))["label_id"] for batch in batches(texts, batch_size)
    ])


def onnx_predict(path, preprocessor, texts, batch_size):
    import numpy as np
    import onnxruntime
    import tensorflow as tf

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    predictions = []
    for batch in batches(texts, batch_size):
        inputs = {name: value.numpy() for name, value in preprocessor(tf.constant(batch)).items()}
        predictions.append(session.run(["logits"], inputs)[0].argmax(-1))
    return np.concatenate(predictions)


def main():
    args = parse_args()
    formats = args.formats.split(",")
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        sys.exit(f"Unknown formats {unknown}; choose from {FORMATS}.")
    import keras
    import numpy as np

    import keras_bert_zoo as kbz
    import keras_bert_zoo.models  # noqa: F401 - registers the task classes load_model reads
    from keras_bert_zoo.data import label_vocabulary, read_glue_tsv

    model = keras.saving.load_model(args.model, compile=False)
    preprocessor = kbz.load_preprocessor(args.preset, sequence_length=args.sequence_length)
    train = read_glue_tsv(args.train_file)
    dev = read_glue_tsv(args.dev_file)
    label_names = label_vocabulary(train.labels)
    model.preprocessor, model.label_names = preprocessor, label_names  # the exports read them from the model
    texts = dev.texts[0][: args.limit]
    gold = np.array([label_names.index(label) for label in dev.labels[: args.limit]])
    representative = train.texts[0][: args.num_representative]
    out_dir = Path(args.out_dir or tempfile.mkdtemp(prefix="export_quality_"))
    out_dir.mkdir(parents=True, exist_ok=True)

    rows, predictions = [], {}
    for name in formats:
        start = time.perf_counter()
        if name == "keras":
            size = sum(np.prod(w.shape) * 4 for w in model.weights)
            predict = lambda: keras_predict(model, preprocessor, texts, args.batch_size)  # noqa: E731
        elif name.startswith("tflite-"):
            quantization = name.split("-", 1)[1]
            path = kbz.export.tflite(
                model, out_dir / f"{name}.tflite", None if quantization == "fp32" else quantization,
                representative if quantization == "int8" else None,
            )
            size = path.stat().st_size
            predict = lambda path=path: tflite_predict(path, texts, args.batch_size)  # noqa: E731
        else:
            path = kbz.export.onnx(model, out_dir / "model.onnx")
            size = path.stat().st_size
            predict = lambda path=path: onnx_predict(path, preprocessor, texts, args.batch_size)  # noqa: E731
        export_seconds = time.perf_counter() - start
        start = time.perf_counter()
        predictions[name] = predict()
        rows.append((name, size / 2**20, float(np.mean(predictions[name] == gold)), export_seconds,
                     time.perf_counter() - start))
        print(f"{name}: accuracy {rows[-1][2]:.4f}, {rows[-1][1]:.1f} MB", file=sys.stderr, flush=True)

    reference = predictions.get("keras")
    keras_accuracy = rows[formats.index("keras")][2] if reference is not None else None
    print(f"\n{len(texts)} dev sentences of {args.dev_file}; model {args.model}; sequence length "
          f"{args.sequence_length}; int8 calibrated on {len(representative)} train sentences.\n")
    print("| format | size (MB) | dev accuracy | vs Keras (points) | argmax = Keras | export (s) | dev pass (s) |")
    print("|---|---|---|---|---|---|---|")
    for name, size, accuracy, export_seconds, seconds in rows:
        delta = "" if keras_accuracy is None else f"{100 * (accuracy - keras_accuracy):+.2f}"
        agree = "" if reference is None else f"{np.mean(predictions[name] == reference):.4f}"
        print(f"| {name} | {size:.1f} | {accuracy:.4f} | {delta} | {agree} | {export_seconds:.0f} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
