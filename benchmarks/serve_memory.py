"""Memory per hostile request: peak resident memory of a SavedModel answering (or refusing) one request.

Tiny models (16 wide, 2 layers, the bert-base uncased vocabulary) are exported with the default
serving limits (`kbz.export.saved_model`'s `max_chars_per_text`, `max_texts_per_request`,
`max_windows_per_context`, `encoder_batch_size`): a classifier and a NER tagger (sequence_length
128) and a span QA model (384, doc_stride 128). Each request then runs in a fresh child process
that loads the model as TF Serving does (`kbz.export.ServedModel`), warms it with a small request
and reports how much its resident memory grew at peak (VmHWM, reset before the request, minus VmRSS
before it) and whether the request was answered or refused. Children run under an address-space
cap (`--cap-gib`, RLIMIT_AS): a request that needs more fails there instead of taking the machine.
A wider model needs more for its encoder activations (in proportion to `encoder_batch_size` x
sequence length x width); tokenizing and offsets do not depend on the model.

    python benchmarks/serve_memory.py --markdown       # ~5 min on 2 cores
    PYTHONPATH=<older checkout> python benchmarks/serve_memory.py --markdown --cap-gib 6  # an older version
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile

from table import print_table

SENTENCE = "John Smith works for Acme Corp. in New York, since the war. "  # 60 characters


def text(chars):
    """`chars` characters of English-like text."""
    return (SENTENCE * (chars // len(SENTENCE) + 1))[:chars]


# kind: (model, description, inputs of the request as {name: list of strings})
REQUESTS = {
    "classifier_1000_texts": ("classifier", "1,000 texts of 60 characters", lambda: {"text": [SENTENCE] * 1000}),
    "classifier_10000_texts": ("classifier", "10,000 texts of 60 characters", lambda: {"text": [SENTENCE] * 10_000}),
    "classifier_1M_text": ("classifier", "one text of 1,000,000 characters", lambda: {"text": [text(1_000_000)]}),
    "classifier_1.2M_text": ("classifier", "one text of 1,200,000 characters", lambda: {"text": [text(1_200_000)]}),
    "ner_999_texts_and_1M": ("ner", "999 texts of 60 characters and one of 1,000,000",
                             lambda: {"text": [SENTENCE] * 999 + [text(1_000_000)]}),
    "qa_500k_context": ("qa", "one question, a 500,000-character context",
                        lambda: {"question": ["Where does John work?"], "context": [text(500_000)]}),
    "qa_5M_context": ("qa", "one question, a 5,000,000-character context",
                      lambda: {"question": ["Where does John work?"], "context": [text(5_000_000)]}),
}

EXPORT = """import sys
import keras, keras_bert_zoo as kbz
keras.utils.set_random_seed(0)
root = sys.argv[1]
tiny = dict(num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32, max_sequence_length=384)
tokenizer = kbz.load_tokenizer("bert_base_uncased")
def encoder():
    return kbz.BertEncoder(tokenizer.vocabulary_size, **tiny)
short, long = (kbz.BertPreprocessor(tokenizer, sequence_length=n) for n in (128, 384))
kbz.export.saved_model(kbz.BertClassifier(encoder(), num_classes=2, preprocessor=short), f"{root}/classifier")
kbz.export.saved_model(kbz.BertTokenClassifier(encoder(), num_classes=3, label_names=["O", "B-PER", "I-PER"],
                                               preprocessor=short), f"{root}/ner")
kbz.export.saved_model(kbz.BertSpanQA(encoder(), preprocessor=long), f"{root}/qa")
"""

SERVE = """import json, sys, time
import numpy as np, tensorflow as tf
import keras_bert_zoo as kbz
sys.path.insert(0, sys.argv[3])
from serve_memory import REQUESTS

def status(field):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(field + ":")) / 1024

model, _, inputs = REQUESTS[sys.argv[2]]
with kbz.export.ServedModel(f"{sys.argv[1]}/{model}/1") as served:
    request = {name: np.array(values, object) for name, values in inputs().items()}
    served(**{name: np.array([values[0][:100]], object) for name, values in request.items()})  # warm up
    before = status("VmRSS")
    open("/proc/self/clear_refs", "w").write("5")  # resets VmHWM to the current RSS
    start = time.perf_counter()
    try:
        served(**request)
        outcome = "answered"
    except tf.errors.InvalidArgumentError as error:
        lines = error.message.splitlines()
        outcome = "refused: " + next((line for line in lines if "at most" in line), lines[0]).strip()
    print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - start,
                      "peak_mib": status("VmHWM") - before, "before_mib": before}))
"""


def serve(root, kind, cap_gib):
    """The child's result for one request, or how it failed."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (cap_gib * 2**30, cap_gib * 2**30))

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    here = os.path.dirname(os.path.abspath(__file__))
    child = subprocess.run([sys.executable, "-c", SERVE, root, kind, here], capture_output=True, text=True,
                           env=env, preexec_fn=cap, cwd=root)  # not cwd: sys.path starts with it
    if child.returncode:
        out_of_memory = re.search("ResourceExhausted|OOM|bad_alloc|MemoryError", child.stderr)
        reason = "out of memory" if out_of_memory else (child.stderr.strip().splitlines() or ["?"])[-1][:120]
        return {"outcome": f"failed: {reason} (exit code {child.returncode})", "seconds": None,
                "peak": f"> {cap_gib} GiB cap" if out_of_memory else "?"}
    return json.loads(child.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", default=",".join(REQUESTS), help=f"comma list of {', '.join(REQUESTS)}")
    parser.add_argument("--cap-gib", type=int, default=8, help="address-space cap of each serving child")
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    if unknown := [k for k in kinds if k not in REQUESTS]:
        parser.error(f"unknown kind(s) {unknown}; choose from {list(REQUESTS)}")
    rows = []
    with tempfile.TemporaryDirectory() as root:
        subprocess.run([sys.executable, "-c", EXPORT, root], check=True, capture_output=True, cwd=root,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        for kind in kinds:
            result = serve(root, kind, args.cap_gib)
            peak = result.get("peak") or f"{result['peak_mib']:,.0f}"
            seconds = "" if result["seconds"] is None else f"{result['seconds']:.1f}"
            rows.append((REQUESTS[kind][0], REQUESTS[kind][1], peak, seconds, result["outcome"]))
            print(*rows[-1], sep="  |  ", file=sys.stderr)
    header = ("model", "request", "peak MiB", "s", "outcome")
    print_table(header, rows, args.markdown)


if __name__ == "__main__":
    main()
