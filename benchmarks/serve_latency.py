"""Serving latency, text in -> class probabilities out: our exports vs torch eager (CPU, fp32 unless quantized).

For each model a `kbz.BertClassifier` (2 classes, random head) is built on the encoder: MiniLM-L6 with its
real weights ("all_minilm_l6_v2"), BERT-base with random weights ("bert_base_uncased" builds without
any). The encoder is saved with `kbz.save_hf` and transformers' `BertForSequenceClassification` loads it,
the classifier head is copied across, so every variant runs the same weights. Timed per request:

    torch          HF BertTokenizerFast (preset vocab) + BertForSequenceClassification, torch.inference_mode()
    savedmodel     kbz.export.saved_model, tf.saved_model.load(...).signatures["serving_default"](text=...)
    tflite-fp32    kbz.export.tflite (tokenizer inside the .tflite), LiteRT with tensorflow-text's kernels
    tflite-dynint8 same, quantization="dynamic_int8"
    tflite-int8    same, quantization="int8" (calibrated on --calibration-texts SST-2 train sentences)
    onnx+hf-tok    kbz.export.onnx in onnxruntime; ids from the HF BertTokenizerFast (as torch gets them)
    onnx+kbz-tok   same ONNX file; ids from our BertPreprocessor in a tf.function

Every request is exactly --seq-len tokens on every side (padding and truncation to it): with --texts long
(default) each text joins consecutive SST-2 dev sentences until it has more wordpieces than that, so no
row is padded; --texts sentences takes one dev sentence per text, padded. Before timing, the ids of both
tokenizers are checked to be equal and every variant's probabilities are compared with torch's.
Variants are timed interleaved (one request each per round, order rotated) so machine noise hits all;
p99 of 10 requests is about the slowest one. An export that fails is a row of the table, not the end of
the run. On a loaded machine torch's OpenMP threads suffer most (2 threads can be 10x slower than 1):
compare on idle cores.

    python benchmarks/serve_latency.py --markdown               # full run (~15-20 min on 2 idle cores)
    python benchmarks/serve_latency.py --models minilm --batch-sizes 1 --requests 3 --warmup 1
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from table import print_table

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"minilm": "all_minilm_l6_v2", "bert-base": "bert_base_uncased"}
VARIANTS = ("torch", "savedmodel", "tflite-fp32", "tflite-dynint8", "tflite-int8", "onnx+hf-tok", "onnx+kbz-tok")
QUANTIZED = ("tflite-dynint8", "tflite-int8")
TOLERANCE = 1e-4  # max |probability difference| against torch for the float32 variants


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="minilm,bert-base", help=f"comma list of {', '.join(MODELS)}")
    parser.add_argument("--batch-sizes", default="1,32")
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--requests", type=int, default=None,
                        help="timed requests per variant (default: 50 at batch 1, 10 at batch 32)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests per variant first")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for every runtime")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list (torch is always run)")
    parser.add_argument("--texts", choices=("long", "sentences"), default="long")
    parser.add_argument("--calibration-texts", type=int, default=100, help="SST-2 train sentences for int8")
    parser.add_argument("--markdown", action="store_true", help="also print the table as markdown")
    args = parser.parse_args()
    args.models = args.models.split(",")
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    args.variants = ["torch"] + [v for v in args.variants.split(",") if v != "torch"]
    for name, given, known in (("model", args.models, MODELS), ("variant", args.variants, VARIANTS)):
        if unknown := [x for x in given if x not in known]:
            parser.error(f"unknown {name}(s) {unknown}; choose from {list(known)}")
    return args


def request_texts(sentences, hf_tokenizer, mode, seq_len):
    """The pool of request texts: dev sentences as they are, or joined until longer than seq_len tokens."""
    if mode == "sentences":
        return sentences
    texts, current = [], []
    for sentence in sentences:
        current.append(sentence.strip())
        if len(hf_tokenizer(" ".join(current))["input_ids"]) > seq_len:
            texts.append(" ".join(current))
            current = []
    return texts


def export_all(classifier, preprocessor, variants, root, calibration):
    """Writes the exports the variants need; returns ({variant, or "onnx": path}, {variant: why its export failed})."""
    import keras_bert_zoo as kbz

    classifier.preprocessor = preprocessor  # the exports read it from the model

    def tflite(name, quantization=None, texts=None):
        return kbz.export.tflite(classifier, root / f"{name}.tflite", quantization=quantization,
                                 representative_texts=texts)

    exports = {
        "savedmodel": lambda: kbz.export.saved_model(classifier, root / "savedmodel"),
        "tflite-fp32": lambda: tflite("fp32"),
        "tflite-dynint8": lambda: tflite("dynint8", "dynamic_int8"),
        "tflite-int8": lambda: tflite("int8", "int8", calibration),
        "onnx": lambda: kbz.export.onnx(classifier, root / "model.onnx"),
    }
    paths, failed = {}, {}
    for name in [e for e in exports if e in variants or (e == "onnx" and any(v.startswith("onnx") for v in variants))]:
        try:
            paths[name] = exports[name]()
        except Exception as error:  # noqa: BLE001 - a failed export is a row of the table, not the end of the run
            why = f"export failed: {type(error).__name__}: {str(error).splitlines()[0][:100]}"
            print(f"{name}: {why}", flush=True)
            failed.update({v: why for v in variants if v == name or name == "onnx" and v.startswith("onnx")})
    return paths, failed


def softmax(logits):
    import numpy as np

    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def make_variants(names, torch_model, hf_tokenizer, preprocessor, paths, seq_len, threads):
    """{variant: fn(list of texts) -> probabilities [batch, 2] as numpy}, text handling included."""
    import numpy as np
    import onnxruntime
    import tensorflow as tf
    import torch

    import keras_bert_zoo as kbz

    def hf_ids(texts, tensors):
        return hf_tokenizer(texts, padding="max_length", truncation=True, max_length=seq_len, return_tensors=tensors)

    def run_torch(texts):
        with torch.inference_mode():
            return torch_model(**hf_ids(texts, "pt")).logits.softmax(-1).numpy()

    fns = {"torch": run_torch}
    if "savedmodel" in names:
        serve = tf.saved_model.load(str(paths["savedmodel"])).signatures["serving_default"]
        fns["savedmodel"] = lambda texts: serve(text=tf.constant(texts))["probabilities"].numpy()
    for name in [n for n in names if n.startswith("tflite")]:
        runner = kbz.export.tflite_interpreter(paths[name], num_threads=threads).get_signature_runner()
        fns[name] = lambda texts, runner=runner: runner(text=np.array(texts, object))["probabilities"]
    if "onnx" in paths:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        session = onnxruntime.InferenceSession(str(paths["onnx"]), options, providers=["CPUExecutionProvider"])
        ids_fn = tf.function(preprocessor, input_signature=[tf.TensorSpec([None], tf.string)])

        def hf_onnx_ids(texts):
            ids = hf_ids(texts, "np")
            return {"token_ids": ids["input_ids"].astype("int32"), "segment_ids": ids["token_type_ids"].astype("int32"),
                    "padding_mask": ids["attention_mask"].astype("int32")}

        for name, ids in (("onnx+hf-tok", hf_onnx_ids),
                          ("onnx+kbz-tok", lambda t: {k: v.numpy() for k, v in ids_fn(tf.constant(t)).items()})):
            if name in names:
                fns[name] = lambda texts, ids=ids: softmax(session.run(["logits"], ids(texts))[0])
    return fns


def time_interleaved(fns, pool, batch, requests, warmup):
    """{variant: [ms per request]}: round r sends texts r*batch.. of the pool to every variant."""
    batches = [[pool[(r * batch + i) % len(pool)] for i in range(batch)] for r in range(warmup + requests)]
    names = list(fns)
    times = {name: [] for name in names}
    for r, texts in enumerate(batches):
        for name in names[r % len(names):] + names[: r % len(names)]:
            start = time.perf_counter()
            fns[name](texts)
            if r >= warmup:
                times[name].append(1000 * (time.perf_counter() - start))
    return times


def same_weight_models(preset, vocab, root):
    """Our BertClassifier (2 classes) on the preset's encoder and transformers' equal of it, as (ours, torch's)."""
    import torch
    import transformers

    import keras_bert_zoo as kbz

    classifier = kbz.BertClassifier(kbz.load(
        preset, weights="auto" if kbz.presets.get(preset).weights_package else None), num_classes=2)
    kbz.save_hf(classifier.encoder, root / "hf", vocabulary=vocab)
    torch_model = transformers.BertForSequenceClassification.from_pretrained(root / "hf", num_labels=2).eval()
    kernel, bias = classifier.get_layer("logits").get_weights()  # save_hf writes the encoder only
    with torch.no_grad():
        torch_model.classifier.weight.copy_(torch.from_numpy(kernel.T))
        torch_model.classifier.bias.copy_(torch.from_numpy(bias))
    return classifier, torch_model


def bench_batch(model_name, fns, pool, batch, args):
    """Table rows of one batch size: outputs checked against torch, then latencies timed interleaved."""
    import numpy as np

    reference = fns["torch"](pool[:batch])
    diffs = {name: float(np.abs(fn(pool[:batch]) - reference).max()) for name, fn in fns.items()}
    requests = args.requests or (50 if batch == 1 else 10)
    times = time_interleaved(fns, pool, batch, requests, args.warmup)
    torch_p50, torch_p99 = np.percentile(times["torch"], [50, 99])
    rows = []
    for name, ms in times.items():
        p50, p99 = np.percentile(ms, [50, 99])
        check = f"{diffs[name]:.1e}" + (" MISMATCH" if name not in QUANTIZED and diffs[name] > TOLERANCE else "")
        rows.append((model_name, batch, name, f"{p50:.1f}", f"{p99:.1f}", f"{torch_p50 / p50:.2f}",
                     f"{torch_p99 / p99:.2f}", check))
    print(f"{model_name} batch {batch}: timed {requests} requests per variant", flush=True)
    return rows


def bench_model(model_name, args, sentences, calibration):
    import numpy as np
    import tensorflow as tf
    import transformers

    import keras_bert_zoo as kbz

    preset = MODELS[model_name]
    vocab = str(kbz.presets.vocabulary_file(preset))
    # transformers 5 ignores `vocab_file=` (it builds a 5-token vocabulary); `vocab=` is read.
    hf_tokenizer = transformers.BertTokenizerFast(vocab=vocab, do_lower_case=kbz.presets.get(preset).lowercase)
    preprocessor = kbz.load_preprocessor(preset, sequence_length=args.seq_len)  # padding="max_length"
    pool = request_texts(sentences, hf_tokenizer, args.texts, args.seq_len)
    ours = preprocessor(tf.constant(pool))["token_ids"].numpy()
    theirs = hf_tokenizer(pool, padding="max_length", truncation=True, max_length=args.seq_len)["input_ids"]
    if not np.array_equal(ours, np.array(theirs)):
        raise RuntimeError(f"{model_name}: our preprocessor and BertTokenizerFast give different ids")

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kbz_serve_") as root:
        classifier, torch_model = same_weight_models(preset, vocab, Path(root))
        paths, failed = export_all(classifier, preprocessor, args.variants, Path(root), calibration)
        names = [v for v in args.variants if v not in failed]
        fns = make_variants(names, torch_model, hf_tokenizer, preprocessor, paths, args.seq_len, args.threads)
        print(f"{model_name}: {len(pool)} request texts, built and exported in {time.perf_counter() - start:.0f}s",
              flush=True)
        rows = []
        for batch in args.batch_sizes:
            rows += bench_batch(model_name, fns, pool, batch, args)
            rows += [(model_name, batch, name, "-", "-", "-", "-", why) for name, why in failed.items()]
    return rows


HEADER = ("model", "batch", "variant", "p50 ms", "p99 ms", "speedup p50", "speedup p99", "max |Δp| vs torch")




def print_goal(rows):
    """The issue's goal per model and batch: every export at most torch's p50, the best at least 2x faster."""
    for model, batch in dict.fromkeys((r[0], r[1]) for r in rows):
        ours = [(float(r[5]) if r[5] != "-" else 0.0, r[2]) for r in rows if (r[0], r[1]) == (model, batch)]
        if ours := [x for x in ours if x[1] != "torch"]:
            slower = [name for speedup, name in ours if speedup < 1]  # a failed export counts as slower
            best = max(ours)
            print(f"goal {model} batch {batch}: exports slower than torch: {', '.join(slower) or 'none'}; "
                  f"best {best[1]} {best[0]:.2f}x ({'met' if best[0] >= 2 and not slower else 'NOT met'})")


def main():
    args = parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)  # the HF tokenizers' batch encoding pool
    import tensorflow as tf

    # Before TensorFlow runs anything: thread pools are fixed at its first op.
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    import keras_bert_zoo as kbz

    start = time.perf_counter()
    sentences = kbz.data.read_glue_tsv(ROOT / "recipes/data/sst2/dev.tsv").texts[0]
    calibration = kbz.data.read_glue_tsv(ROOT / "recipes/data/sst2/train.tsv").texts[0][: args.calibration_texts]
    print(f"{args.threads} threads (of {os.cpu_count()} cores), seq_len {args.seq_len}, texts {args.texts}, "
          f"tensorflow {tf.__version__}, torch {torch.__version__}; loadavg {os.getloadavg()[0]:.1f}", flush=True)
    rows = [row for model in args.models for row in bench_model(model, args, sentences, calibration)]
    print(f"\ntotal {time.perf_counter() - start:.0f}s, loadavg {os.getloadavg()[0]:.1f}; "
          "speedup = torch latency / variant latency (>1: faster than torch eager)\n")
    print_table(HEADER, rows)
    if args.markdown:
        print()
        print_table(HEADER, rows, markdown=True)
    print()
    print_goal(rows)


if __name__ == "__main__":
    main()
