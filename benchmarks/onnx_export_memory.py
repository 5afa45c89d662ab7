"""ONNX export cost: wall time and peak resident memory of `kbz.export.onnx` on a 2-class classifier.

Each model is exported in a fresh child process (peak RSS is per process); it builds
`kbz.BertClassifier(kbz.load(PRESET))` (real weights for MiniLM-L6, random for
BERT-base), exports it and reports the seconds the export took, the process's peak resident memory
(`ru_maxrss`, model building included) and the file size.

    python benchmarks/onnx_export_memory.py --markdown        # ~1 min on 2 cores
"""

import argparse
import json
import os
import subprocess
import sys

from table import print_table

MODELS = {"minilm": "all_minilm_l6_v2", "bert-base": "bert_base_uncased"}

CHILD = """import json, os, resource, sys, tempfile, time
import keras_bert_zoo as kbz
model = kbz.BertClassifier(kbz.load(
    sys.argv[1], weights='auto' if kbz.presets.get(sys.argv[1]).weights_package else None), num_classes=2)
with tempfile.TemporaryDirectory() as root:
    start = time.perf_counter()
    path = kbz.export.onnx(model, os.path.join(root, "model.onnx"))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                      "file_mib": os.path.getsize(path) / 2**20}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma list of {', '.join(MODELS)}")
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    args = parser.parse_args()
    models = args.models.split(",")
    if unknown := [m for m in models if m not in MODELS]:
        parser.error(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    rows = []
    for name in models:
        child = subprocess.run([sys.executable, "-c", CHILD, MODELS[name]], capture_output=True, text=True, env=env)
        if child.returncode:
            raise SystemExit(f"{name}: export failed (exit code {child.returncode}):\n{child.stderr[-2000:]}")
        result = json.loads(child.stdout.strip().splitlines()[-1])
        rows.append((name, f"{result['seconds']:.0f}", f"{result['peak_gib']:.1f}", f"{result['file_mib']:.1f}"))
    header = ("model", "export s", "peak RSS GiB", "file MiB")
    print_table(header, rows, args.markdown)


if __name__ == "__main__":
    main()
