"""SST-2 dev accuracy and agreement with the float model of each quantized and pruned variant of a fine-tuned
classifier (kbz.compress; issue 20).

    python benchmarks/compress_variants.py RUN_DIR   # RUN_DIR/best.keras: e.g. recipes/classify.py --model-dir

Variants: the float Keras model; Keras int8 weights (`quantize_int8`) in Keras and as a SavedModel; the TFLite
post-training variants (fp32, fp16, dynamic_int8, int8 calibrated on 200 train sentences); quantization-aware
fine-tuning (`FakeQuantWeights`, QAT_STEPS steps of batch 32 from the float model) exported to int8 TFLite;
heads and FFN neurons pruned by gate importance on 256 train sentences, without fine-tuning afterwards.
Agreement on the dev sentences (held out from training): `cosine`, the cosine between the float model's and
the variant's per-sentence logit margins log(p1/p0) over the whole dev set; `mean |dp|`, the mean absolute
change of the probabilities; `argmax`, the share of sentences with the float model's label. Size: the file
(SavedModel folder, .tflite), or the weights' bytes for Keras models.
"""

import csv
import os
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import keras_bert_zoo as kbz
import keras_bert_zoo.metrics.glue  # noqa: F401  (registers the metric and optimizer a run's best.keras was
import keras_bert_zoo.training.optimizer  # noqa: F401  compiled with)
from keras_bert_zoo.compress import FakeQuantWeights, gate_importance, prune, quantize_int8

DATA = Path(__file__).resolve().parent.parent / "recipes" / "data" / "sst2"
QAT_STEPS = 100


def read(path):
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [row["sentence"].strip() for row in rows], np.array([int(row["label"]) for row in rows])


def keras_probabilities(model, preprocessor, texts):
    return np.concatenate([keras.ops.softmax(model(preprocessor(texts[i:i + 64])), axis=-1).numpy()
                           for i in range(0, len(texts), 64)])


def tflite_probabilities(path, texts):
    runner = kbz.export.tflite_interpreter(path).get_signature_runner()
    return np.concatenate([runner(text=np.array(texts[i:i + 64], object))["probabilities"]
                           for i in range(0, len(texts), 64)])


def weight_bytes(model):
    """The bytes of a Keras model's weights (a .keras file adds a compiled model's optimizer state)."""
    return sum(np.asarray(w).nbytes for w in model.get_weights())


def row(name, probabilities, reference, labels, size=None):
    margin = np.log(np.clip(probabilities[:, 1], 1e-7, 1)) - np.log(np.clip(probabilities[:, 0], 1e-7, 1))
    base = np.log(np.clip(reference[:, 1], 1e-7, 1)) - np.log(np.clip(reference[:, 0], 1e-7, 1))
    cosine = margin @ base / (np.linalg.norm(margin) * np.linalg.norm(base))
    accuracy = np.mean(probabilities.argmax(-1) == labels)
    line = (f"| {name} | {accuracy:.4f} | {cosine:.5f} | {np.abs(probabilities - reference).mean():.4f} | "
            f"{np.mean(probabilities.argmax(-1) == reference.argmax(-1)):.4f} | "
            f"{'' if size is None else f'{size / 2**20:.1f}'} | {os.getloadavg()[0]:.1f} |")
    print(line, flush=True)


def main(run_dir):
    model = kbz.load(str(Path(run_dir) / "best.keras"))
    preprocessor = model.preprocessor
    texts, labels = read(DATA / "dev.tsv")
    train_texts, train_labels = read(DATA / "train.tsv")
    out = Path(tempfile.mkdtemp(prefix="kbz-compress-"))
    print(f"{len(texts)} dev sentences; run {run_dir}; load {os.getloadavg()[0]:.1f}")
    print("| variant | dev accuracy | cosine | mean \\|dp\\| | argmax | file MiB | load |")
    print("|---|---|---|---|---|---|---|")
    reference = keras_probabilities(model, preprocessor, texts)
    model.save(out / "float.keras")
    row("float32 Keras", reference, reference, labels, weight_bytes(model))

    quantized = quantize_int8(model)
    int8_keras = keras_probabilities(quantized, preprocessor, texts)
    row("Keras int8 weights (`quantize_int8`)", int8_keras, reference, labels, weight_bytes(quantized))
    path = kbz.export.saved_model(quantized, out / "int8_saved_model")
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    served = np.concatenate([serve(text=tf.constant(texts[i:i + 64]))["probabilities"].numpy()
                             for i in range(0, len(texts), 64)])
    size = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
    row("Keras int8 weights, SavedModel", served, reference, labels, size)
    print(f"SavedModel vs Keras int8: max |dp| {np.abs(served - int8_keras).max():.2e}")

    representative = train_texts[:200]
    for quantization in (None, "fp16", "dynamic_int8", "int8"):
        name = quantization or "fp32"
        path = kbz.export.tflite(model, out / f"{name}.tflite", quantization,
                                 representative if quantization == "int8" else None)
        row(f"TFLite {name}", tflite_probabilities(path, texts), reference, labels, Path(path).stat().st_size)

    qat = kbz.load(str(out / "float.keras"))
    qat.compile(keras.optimizers.Adam(1e-5), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    start = time.time()
    ids = preprocessor(train_texts[: 32 * QAT_STEPS])
    qat.fit(ids, train_labels[: 32 * QAT_STEPS], batch_size=32, epochs=1, verbose=0, callbacks=[FakeQuantWeights()])
    print(f"QAT: {QAT_STEPS} steps in {time.time() - start:.0f} s")
    row("QAT, Keras float weights", keras_probabilities(qat, preprocessor, texts), reference, labels)
    path = kbz.export.tflite(qat, out / "qat_int8.tflite", "int8", representative)
    row("QAT -> TFLite int8", tflite_probabilities(path, texts), reference, labels, Path(path).stat().st_size)

    data = tf.data.Dataset.from_tensor_slices((preprocessor(train_texts[-256:]), train_labels[-256:])).batch(32)
    importance = gate_importance(model, data)
    for heads, ffn in ((0.2, None), (0.4, None), (0.6, None), (None, 0.3), (0.4, 0.3)):
        small = prune(model, heads=heads, ffn=ffn, importance=importance)
        name = f"pruned: {int((heads or 0) * 100)}% heads, {int((ffn or 0) * 100)}% FFN, no fine-tuning"
        row(name, keras_probabilities(small, preprocessor, texts), reference, labels, weight_bytes(small))


if __name__ == "__main__":
    main(sys.argv[1])
