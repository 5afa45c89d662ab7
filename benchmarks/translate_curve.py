"""Learning curve of recipes/translate.py: test BLEU against training minutes.

Runs the recipe (its flags after `--`) in a subprocess and copies its --model-dir/last.keras each time the
recipe rewrites it (at every epoch's end), stamped with the minutes since the start and the 1-minute load
average. When the recipe ends it translates the test set with each copy (greedy, as the recipe does) and prints
a markdown row per epoch: minutes, load, BLEU.

    python benchmarks/translate_curve.py --work /tmp/curve -- --max-train-examples 29000 --epochs 3
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "translate.py"


def watch(command, model_dir, snapshots):
    """Runs `command`, copying model_dir/last.keras after each rewrite; returns [(minutes, load, copy)]."""
    start, seen, taken = time.time(), None, []
    process = subprocess.Popen(command)
    while True:
        done = process.poll() is not None
        last = model_dir / "last.keras"
        if last.is_file() and last.stat().st_mtime != seen:
            seen = last.stat().st_mtime
            copy = snapshots / f"epoch{len(taken) + 1}.keras"
            shutil.copyfile(last, copy)
            taken.append(((seen - start) / 60, os.getloadavg()[0], copy))
            print(f"curve: epoch {len(taken)} saved at {taken[-1][0]:.1f} min (load {taken[-1][1]:.1f})", flush=True)
        if done:
            break
        time.sleep(5)
    if process.returncode:
        sys.exit(f"the recipe failed with exit status {process.returncode}")
    return taken


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True, help="folder for the run and the snapshots")
    parser.add_argument("--max-test-examples", type=int, help="score only the first N test sentences")
    parser.add_argument("recipe_flags", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    flags = [flag for flag in args.recipe_flags if flag != "--"]
    model_dir, snapshots = args.work / "run", args.work / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(RECIPE), *flags, "--model-dir", str(model_dir),
               "--export-dir", str(args.work / "export")]
    print("command:", " ".join(command), flush=True)
    taken = watch(command, model_dir, snapshots)

    import keras
    import sacrebleu

    from keras_bert_zoo.data.seq2seq import read_parallel_text
    from keras_bert_zoo.tasks.seq2seq import generate_texts

    test = read_parallel_text(RECIPE.parent / "data" / "multi30k" / "test_2016_flickr.en.gz",
                              RECIPE.parent / "data" / "multi30k" / "test_2016_flickr.de.gz")
    test = test.head(args.max_test_examples)
    print("| epoch | minutes | load (1 min) | test BLEU |\n|---|---|---|---|")
    for epoch, (minutes, load, path) in enumerate(taken, 1):
        model = keras.saving.load_model(path, compile=False)
        tokenizer = model.preprocessor.tokenizer
        hypotheses = generate_texts(model, model.preprocessor, tokenizer, test.sources, 64, 64)
        bleu = sacrebleu.corpus_bleu(hypotheses, [test.targets]).score
        print(f"| {epoch} | {minutes:.1f} | {load:.1f} | {bleu:.2f} |", flush=True)


if __name__ == "__main__":
    main()
