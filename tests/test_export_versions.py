import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from keras_bert_zoo.export import next_version, saved_model_files, write_version
from keras_bert_zoo.export.saved_model_files import write_file


def test_versions_count_up_and_never_overwrite(tmp_path):
    base = tmp_path / "model"
    assert next_version(base) == 1
    first = write_version(base, lambda d: (d / "saved_model.pb").write_text("1"))
    second = write_version(base, lambda d: (d / "saved_model.pb").write_text("2"))
    assert (first.name, second.name) == ("1", "2")
    assert (first / "saved_model.pb").read_text() == "1"
    (base / "10").mkdir()
    assert next_version(base) == 11


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    def fail(directory):
        (directory / "half").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_version(tmp_path, fail)
    assert list(tmp_path.iterdir()) == []


def test_the_version_appears_only_when_complete(tmp_path):
    seen = []

    def write(directory):
        (directory / "saved_model.pb").write_text("x")
        seen.append(sorted(p.name for p in tmp_path.iterdir() if p.name.isdigit()))

    write_version(tmp_path, write)
    assert seen == [[]]  # while writing, TF Serving would find no integer folder
    assert [p.name for p in tmp_path.iterdir()] == ["1"]


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_versions_and_files_take_the_umask_permissions(tmp_path, umask_022):
    def write(directory):
        (directory / "variables").mkdir()
        (directory / "variables" / "data").write_text("x")
        (directory / "saved_model.pb").write_text("x")

    version = write_version(tmp_path, write)
    modes = {str(p.relative_to(tmp_path)): stat.S_IMODE(p.stat().st_mode) for p in tmp_path.rglob("*")}
    assert modes == {"1": 0o755, "1/variables": 0o755, "1/variables/data": 0o644, "1/saved_model.pb": 0o644}
    path = write_file(tmp_path / "m.tflite", lambda p: p.write_bytes(b"x"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert version.name == "1"


def test_a_file_is_replaced_not_overwritten_in_place(tmp_path):
    path, reader = tmp_path / "m.onnx", tmp_path / "held_open_by_a_reader"
    path.write_bytes(b"old")
    os.link(path, reader)
    write_file(path, lambda p: p.write_bytes(b"new"))
    assert (path.read_bytes(), reader.read_bytes()) == (b"new", b"old")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["held_open_by_a_reader", "m.onnx"]


# A writer in another process: it starts writing, prints its temporary path, then waits to be killed.
WRITER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from saved_model_files import write_file, write_version

def write(path):
    (path / "weights" if sys.argv[3] == "version" else path).write_bytes(b"x" * 1000)
    print(path, flush=True)
    time.sleep(60)

(write_version if sys.argv[3] == "version" else write_file)(sys.argv[2], write)
"""


@pytest.mark.parametrize("kind", ["version", "file"])
def test_a_killed_writers_temporary_is_removed_a_live_ones_kept(tmp_path, kind):
    def start_writer():
        target = tmp_path / ("model" if kind == "version" else "m.tflite")
        here = str(Path(saved_model_files.__file__).parent)
        writer = subprocess.Popen([sys.executable, "-c", WRITER, here, str(target), kind], stdout=subprocess.PIPE,
                                  text=True)
        return writer, Path(writer.stdout.readline().strip())

    (killed, killed_tmp), (live, live_tmp) = start_writer(), start_writer()
    try:
        killed.kill()
        killed.wait()
        assert killed_tmp.exists() and live_tmp.exists()
        foreign = killed_tmp.with_name(killed_tmp.name.replace(socket.gethostname(), "another-host"))
        foreign.mkdir()  # a pid on another host (a shared file system) says nothing about that writer
        if kind == "version":
            write_version(tmp_path / "model", lambda d: (d / "saved_model.pb").write_text("x"))
        else:
            write_file(tmp_path / "m.tflite", lambda p: p.write_bytes(b"x"))
        assert not killed_tmp.exists() and live_tmp.exists() and foreign.exists()
    finally:
        live.kill()
        live.wait()
