"""A wheel installed into a fresh virtual environment trains: `keras-bert-zoo train classify` needs no
source checkout (no recipes/ folder), only the package and the data files it is given.

The wheel is built from a copy of the package's sources (so no build/ or egg-info lands in the checkout),
without build isolation and installed without dependencies: nothing is downloaded. The fresh environment
reuses the dependencies this interpreter has (its site-packages, added once the wheel is in).
"""

import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DEV = Path(__file__).parent / "data" / "sst2" / "dev.tsv"  # the full SST-2 dev set (872 sentences)
TIMEOUT = 600  # seconds one step may take on 2 busy cores


def _run(command, **kwargs):
    process = subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=TIMEOUT,
                             check=False, **kwargs)
    assert process.returncode == 0, f"{command}\n{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
    return process


def _build_wheel(tmp_path):
    """The package's wheel, built from a copy of the files `pip install .` reads."""
    source = tmp_path / "source"
    shutil.copytree(ROOT / "keras_bert_zoo", source / "keras_bert_zoo",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", wheels,
          source])
    [wheel] = wheels.glob("keras_bert_zoo-*.whl")
    return wheel


def _fresh_venv(tmp_path, wheel):
    """A new virtual environment with the wheel installed, seeing this interpreter's dependencies."""
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", venv])
    python = venv / "bin" / "python"
    _run([python, "-m", "pip", "install", "--no-deps", "--force-reinstall", "--no-index", wheel])
    # This interpreter may itself be a virtual environment: its site-packages (the dependencies) go on the
    # new one's path after its own, where the wheel is; the new one's pip never saw them.
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    ours = [path for path in [*site.getsitepackages(), sysconfig.get_path("purelib")] if Path(path).is_dir()]
    (purelib / "zz_dependencies.pth").write_text("".join(f"{path}\n" for path in dict.fromkeys(ours)))
    return venv


@pytest.mark.slow
def test_an_installed_wheel_trains_classify_outside_the_source_tree(tmp_path):
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"keras_bert_zoo/tasks/classify.py", "keras_bert_zoo/vocab/uncased.txt"} <= names
    assert not [name for name in names if name.startswith("recipes/")]
    venv = _fresh_venv(tmp_path, wheel)

    work = tmp_path / "work"  # outside the repository: no recipes/ folder anywhere near
    work.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    installed = _run([venv / "bin" / "python", "-c", "import keras_bert_zoo; print(keras_bert_zoo.__file__)"],
                     cwd=work, env=env).stdout.strip()
    assert Path(installed).is_relative_to(venv), installed

    # Without a source checkout the default data is not there: an error line names the flag, no traceback.
    missing = subprocess.run([venv / "bin" / "keras-bert-zoo", "train", "classify", "--model-dir", work / "nothing"],
                             capture_output=True, text=True, timeout=TIMEOUT, cwd=work, env=env)
    assert missing.returncode != 0 and "Traceback" not in missing.stderr, missing.stderr[-3000:]
    assert re.search(r"^error: .*sst2/train\.tsv not found: .* Give the file with --train-file\.$", missing.stderr,
                     re.MULTILINE), missing.stderr[-3000:]

    dev = work / "dev.tsv"  # 64 dev sentences keep the evaluation short
    dev.write_text("".join(DEV.read_text().splitlines(keepends=True)[:65]))
    trained = _run([venv / "bin" / "keras-bert-zoo", "train", "classify", "--checkpoint", "bert_tiny_uncased",
                    "--random-init", "--train-file", DEV, "--dev-file", dev, "--max-train-examples", "32",
                    "--epochs", "1", "--batch-size", "16", "--sequence-length", "32",
                    "--model-dir", work / "run", "--export-dir", work / "sst2"], cwd=work, env=env)
    lines = trained.stdout.strip().splitlines()
    assert re.fullmatch(r"dev accuracy: [01]\.\d{4}", lines[-1]), lines[-5:]
    assert f"exported to {work / 'sst2' / '1'}" in lines
    assert (work / "sst2" / "1" / "saved_model.pb").is_file()
    assert (work / "run" / "last.keras").is_file()
