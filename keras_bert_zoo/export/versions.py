"""Atomic writes: TF Serving's model base path layout, <base>/<version>/, and single files (.tflite, .onnx).

Everything is written under a temporary name beside its target, `.incomplete.<host>.<pid>.<random>`
(`.<file name>.incomplete...` for a file), then renamed. The name records the writer, so the next write
to the same place removes what a killed writer left (its process is gone from this host) and never
touches a live writer's. Folders and files get the permissions a plain mkdir and open give (the umask
applies), so TF Serving running as another user can read them.
"""

import os
import re
import secrets
import shutil
import socket
from pathlib import Path

_HOST = socket.gethostname()


def next_version(base_path):
    """1 + the highest integer version folder under `base_path` (1 if there is none)."""
    base = Path(base_path)
    versions = [int(p.name) for p in base.iterdir() if p.name.isdigit()] if base.is_dir() else []
    return max(versions, default=0) + 1


def write_version(base_path, write):
    """Calls `write(tmp_dir)`, then renames tmp_dir to `<base_path>/<next version>`; returns that path.

    The temporary folder sits beside the versions and is not a number, so TF Serving, which polls the
    base path for integer folders, never sees a half-written version. Its files are flushed to disk
    before the rename. An existing version is never overwritten; if `write` fails, nothing is left behind.
    """
    base = Path(base_path)
    base.mkdir(parents=True, exist_ok=True)
    _remove_stale(base, ".incomplete.")
    tmp = _temporary(base, ".incomplete.")
    try:
        tmp.mkdir()
        write(tmp)
        for folder, _, files in os.walk(tmp):
            for name in files:
                _fsync(os.path.join(folder, name))
            _fsync(folder)
        while True:
            target = base / str(next_version(base))
            try:
                os.rename(tmp, target)  # atomic; fails if another export took this number meanwhile
                break
            except OSError:
                if not target.exists():
                    raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync(base)
    return target


def write_file(path, write):
    """Calls `write(tmp_path)`, then renames tmp_path over `path` (atomic: a reader sees the old file or
    the new one, never a part); returns `path`. If `write` fails, nothing is left behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}.incomplete."
    _remove_stale(path.parent, prefix)
    tmp = _temporary(path.parent, prefix)
    try:
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync(path.parent)
    return path


def _temporary(folder, prefix):
    return folder / f"{prefix}{_HOST}.{os.getpid()}.{secrets.token_hex(4)}"


def _remove_stale(folder, prefix):
    """Removes the temporaries named `<prefix><host>.<pid>.<random>` whose writer died on this host."""
    for path in folder.iterdir():
        writer = re.fullmatch(re.escape(prefix) + r"(.+)\.(\d+)\.[0-9a-f]+", path.name)
        if writer and writer[1] == _HOST and not _alive(int(writer[2])):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)  # another export may be removing it too
            else:
                path.unlink(missing_ok=True)


def _alive(pid):
    try:
        os.kill(pid, 0)  # signal 0 only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's
        pass
    return True


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
