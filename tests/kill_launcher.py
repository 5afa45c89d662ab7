"""Runs a recipe and SIGKILLs it at a chosen point, for tests/test_recipe_kill.py.

    python tests/kill_launcher.py KILL_AT recipes/classify.py --model-dir RUN ...

KILL_AT is one of
    backup:K     right after the K-th backup of this process is committed
    mid-save:K   in the K-th backup, after its files are written and before it is committed
    after-fit    when `runs.fit` returns, before the recipe writes its outputs

Everything after KILL_AT is the recipe's command line; the recipe runs in this process, as
`python RECIPE ...` would run it, and is killed with `kill -9` (nothing cleans up).
"""

import os
import runpy
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_bert_zoo.training import ResumableBackupAndRestore, runs  # noqa: E402


def _die():
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_around(owner, name, k, before):
    """Wraps `owner.name` so that its k-th call kills the process, before or after running it."""
    original, calls = getattr(owner, name), []

    def wrapped(*args, **kwargs):
        calls.append(None)
        if before and len(calls) == k:
            _die()
        result = original(*args, **kwargs)
        if not before and len(calls) == k:
            _die()
        return result

    setattr(owner, name, wrapped)


def main():
    kill_at, recipe, *argv = sys.argv[1:]
    point, _, k = kill_at.partition(":")
    if point == "backup":
        _kill_around(ResumableBackupAndRestore, "_save_model", int(k), before=False)
    elif point == "mid-save":
        _kill_around(ResumableBackupAndRestore, "_commit", int(k), before=True)
    elif point == "after-fit":
        _kill_around(runs, "fit", 1, before=False)
    else:
        raise SystemExit(f"unknown kill point {kill_at!r}")
    sys.argv = [recipe, *argv]
    runpy.run_path(recipe, run_name="__main__")


if __name__ == "__main__":
    main()
