"""TF Serving's model base path layout: <base>/<version>/, versions written atomically."""

import os
import shutil
import tempfile
from pathlib import Path


def next_version(base_path):
    """1 + the highest integer version folder under `base_path` (1 if there is none)."""
    base = Path(base_path)
    versions = [int(p.name) for p in base.iterdir() if p.name.isdigit()] if base.is_dir() else []
    return max(versions, default=0) + 1


def write_version(base_path, write):
    """Calls `write(tmp_dir)`, then renames tmp_dir to `<base_path>/<next version>`; returns that path.

    The temporary folder sits beside the versions and is not a number, so TF Serving, which polls the
    base path for integer folders, never sees a half-written version. An existing version is never
    overwritten; if `write` fails, nothing is left behind.
    """
    base = Path(base_path)
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".incomplete-", dir=base))
    try:
        write(tmp)
        while True:
            target = base / str(next_version(base))
            try:
                os.rename(tmp, target)  # atomic; fails if another export took this number meanwhile
                return target
            except OSError:
                if not target.exists():
                    raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
