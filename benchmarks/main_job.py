"""The main job end to end against what a Hugging Face user runs instead, each in a fresh process, A/B alternated.

`ours` is the recipe exactly as README runs it (`recipes/classify.py`, or `recipes/ner.py` with `--task ner`),
its run and export folders moved to a temporary directory; `peer` is `benchmarks/peers/hf_<task>.py`:
transformers' `Trainer` doing the same job (same data, model, batch, schedule, optimizer settings, seed).
For each run: wall, CPU (user + sys), peak RSS of the process (`wait4`), the time and peak RSS of each phase
(from the time each output line arrives; RSS sampled every 0.1 s), the dev figure the job prints, and the
1-minute load average before it. Then the medians, and ours/peer ratios of them (< 1: ours is cheaper).

Phases, by the lines both jobs print: start (imports) until `weights:`, load (model and data) until
`training:`, first step (tracing) until `step 1/`, train (the other steps, and ours' validation inside `fit`)
until `epoch 1/`, after (checkpoints, and ours' backups) until `evaluating`, evaluate until `exporting`,
export until `exported to`, exit until the process ends.

    python benchmarks/main_job.py --rounds 2 --markdown                  # ~20 min on 2 idle cores
    python benchmarks/main_job.py --rounds 1 --max-train-examples 640    # a quick look, ~3 min
    python benchmarks/main_job.py --task ner --rounds 2 --markdown
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from table import print_table

ROOT = Path(__file__).resolve().parents[1]
RECIPES = {"classify": "classify.py", "ner": "ner.py"}
FIGURE = {"classify": re.compile(r"^dev accuracy: ([0-9.]+)"), "ner": re.compile(r"^test entity F1: ([0-9.]+)")}
# (phase, the line that ends it), in order; a phase whose line is missing is merged into the next one.
PHASES = [("start", "weights:"), ("load", "training:"), ("first step", "step 1/"), ("train", "epoch 1/"),
          ("after", "evaluating"), ("evaluate", "exporting"), ("export", "exported to")]


def command(side, task, folder, extra):
    """The command line of one run, its outputs in `folder`."""
    if side == "ours":
        return [sys.executable, str(ROOT / "recipes" / RECIPES[task]), "--model-dir", f"{folder}/run",
                "--export-dir", f"{folder}/export", *extra]
    return [sys.executable, str(ROOT / "benchmarks" / "peers" / f"hf_{task}.py"), "--output-dir", f"{folder}/out",
            *extra]


def rss_of(pid):
    """Resident set size of process `pid` in bytes, or 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


def run_once(side, task, extra, echo):
    """Runs one job in a fresh process; returns its measurements."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix=f"kbz_main_job_{side}_") as folder:
        env = dict(os.environ, KERAS_BERT_ZOO_PROGRESS_SECONDS="5", PYTHONUNBUFFERED="1")
        start = time.monotonic()
        process = subprocess.Popen(command(side, task, folder, extra), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, env=env, cwd=folder)
        samples = []  # (time, rss)
        done = threading.Event()

        def sample():
            while not done.wait(0.1):
                samples.append((time.monotonic() - start, rss_of(process.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        lines, figure = [], None
        for line in process.stdout:
            lines.append((time.monotonic() - start, line.rstrip("\n")))
            if echo:
                print(f"  [{side} {lines[-1][0]:6.1f}s] {lines[-1][1]}", flush=True)
            match = FIGURE[task].match(line)
            figure = float(match.group(1)) if match else figure
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - start
        done.set()
        sampler.join()
    if status != 0:
        tail = "\n".join(line for _, line in lines[-20:])
        raise SystemExit(f"{side} failed (status {status}):\n{tail}")
    phases, begin = {}, 0.0
    for name, marker in PHASES:
        end = next((t for t, line in lines if line.startswith(marker) and t >= begin), None)
        if end is None:
            continue
        phases[name] = (end - begin, max((rss for t, rss in samples if begin <= t <= end), default=0))
        begin = end
    phases["exit"] = (wall - begin, max((rss for t, rss in samples if t >= begin), default=0))
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss * 1024,
            "figure": figure, "load": load, "phases": phases}


def gib(n):
    return f"{n / 2**30:.2f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="classify", choices=list(RECIPES))
    parser.add_argument("--rounds", type=int, default=2, help="runs of each side, alternated (ours first in odd "
                                                               "rounds, the peer first in even ones)")
    parser.add_argument("--sides", default="ours,peer", help="comma list: ours, peer")
    parser.add_argument("--max-train-examples", type=int, help="passed to both jobs: a shorter run")
    parser.add_argument("--ours-args", default="", help="more flags for our recipe, e.g. '--batch-size 16'")
    parser.add_argument("--echo", action="store_true", help="print every line the jobs print, timed")
    parser.add_argument("--markdown", action="store_true", help="also print the tables as markdown")
    args = parser.parse_args(argv)
    sides = args.sides.split(",")
    shared = [] if args.max_train_examples is None else ["--max-train-examples", str(args.max_train_examples)]
    extra = {"ours": shared + args.ours_args.split(), "peer": shared}
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {os.cpu_count()} CPU cores; 1-min loadavg {os.getloadavg()[0]:.1f}")
    results = {side: [] for side in sides}
    for round_ in range(args.rounds):
        for side in sides if round_ % 2 == 0 else sides[::-1]:
            result = run_once(side, args.task, extra[side], args.echo)
            results[side].append(result)
            print(f"round {round_ + 1} {side}: wall {result['wall']:.1f}s, cpu {result['cpu']:.1f}s, peak RSS "
                  f"{gib(result['rss'])} GiB, figure {result['figure']}, load before {result['load']:.1f}; "
                  + ", ".join(f"{name} {s:.1f}s/{gib(rss)}" for name, (s, rss) in result["phases"].items()),
                  flush=True)

    def median(side, key):
        return statistics.median(r[key] for r in results[side])

    header = ("side", "wall s", "CPU s", "peak RSS GiB", "figure", "load before")
    rows = [(side, f"{median(side, 'wall'):.1f}", f"{median(side, 'cpu'):.1f}", gib(median(side, 'rss')),
             " / ".join(f"{r['figure']:.4f}" for r in results[side]),
             " / ".join(f"{r['load']:.1f}" for r in results[side])) for side in sides]
    if {"ours", "peer"} <= set(sides):
        rows.append(("ours / peer", *(f"{median('ours', key) / median('peer', key):.2f}" for key in
                                      ("wall", "cpu", "rss")), "", ""))
    names = [name for name, _ in PHASES] + ["exit"]
    phase_header = ("side", *names)
    phase_rows = [(side, *(f"{statistics.median(r['phases'].get(n, (0, 0))[0] for r in results[side]):.1f}"
                           for n in names)) for side in sides]
    phase_rows += [(f"{side} peak GiB", *(gib(max(r['phases'].get(n, (0, 0))[1] for r in results[side]))
                                         for n in names)) for side in sides]
    print()
    print_table(header, rows)
    print("\nphase seconds (median) and peak RSS (max over rounds):")
    print_table(phase_header, phase_rows)
    if args.markdown:
        print()
        print_table(header, rows, markdown=True)
        print()
        print_table(phase_header, phase_rows, markdown=True)
    print(f"\n1-min loadavg at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
