"""Start-up cost of the command line: wall seconds of `import keras_bert_zoo`, `keras-bert-zoo --help` and
`keras-bert-zoo presets`, each in a fresh process, with the 1-minute load average beside each run.

    python benchmarks/startup.py --runs 3 --markdown
    PYTHONPATH=<older checkout> python benchmarks/startup.py   # the same commands against another version
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

from table import print_table

COMMANDS = {
    "import keras_bert_zoo": [sys.executable, "-c", "import keras_bert_zoo"],
    "keras-bert-zoo --help": [sys.executable, "-m", "keras_bert_zoo.cli", "--help"],
    "keras-bert-zoo presets": [sys.executable, "-m", "keras_bert_zoo.cli", "presets"],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    rows = []
    for name, command in COMMANDS.items():
        seconds, loads = [], []
        for _ in range(args.runs):
            loads.append(os.getloadavg()[0])
            start = time.perf_counter()
            # From a neutral folder: run from a checkout, `-c`/`-m` would import the checkout, not PYTHONPATH's.
            subprocess.run(command, check=True, capture_output=True, cwd=tempfile.gettempdir())
            seconds.append(time.perf_counter() - start)
        rows.append((name, " / ".join(f"{s:.2f}" for s in seconds), f"{min(loads):.1f}–{max(loads):.1f}"))
    print_table(("command", "wall s, each run", "load average"), rows, args.markdown)


if __name__ == "__main__":
    main()
