"""keras_bert_zoo.compat: the one home of private Keras/TensorFlow/LiteRT APIs, and its version checks."""

import re
from pathlib import Path

import pytest

from keras_bert_zoo import compat

PACKAGE = Path(compat.__file__).parent
PRIVATE_IMPORT = re.compile(r"^\s*(from|import)\s+(keras\.src|tensorflow\.python|tensorflow\.lite\.python)\b", re.M)


@pytest.fixture
def unchecked(monkeypatch):
    """Forgets which versions passed, for this test only."""
    monkeypatch.setattr(compat, "_checked", set())


@pytest.mark.parametrize("package", ["keras", "tensorflow", "ai_edge_litert"])
def test_installed_versions_are_supported(unchecked, package):
    compat.check_version(package, "test")
    assert package in compat._checked


def test_ranges_match_setup_cfg_pins():
    pins = dict(re.findall(r"^\s*([\w-]+)==(\S+)", (PACKAGE.parent / "setup.cfg").read_text(), re.M))
    for package, bounds in [("keras", compat.KERAS_RANGE), ("tensorflow", compat.TENSORFLOW_RANGE),
                            ("ai-edge-litert", compat.LITERT_RANGE)]:
        assert compat._in_range(pins[package], bounds), (package, pins[package], bounds)


@pytest.mark.parametrize("version, inside", [
    ("3.15.0", True), ("3.15.1", True), ("3.15.2.dev2026", True), ("3.14.9", False), ("3.16.0", False),
    ("4.0.0", False), ("3.16.0rc1", False),
])
def test_in_range(version, inside):
    assert compat._in_range(version, compat.KERAS_RANGE) is inside


@pytest.mark.parametrize("version", ["3.14.0", "3.16.0"])
def test_keras_outside_the_range_fails_with_the_named_error(unchecked, monkeypatch, version):
    import keras

    monkeypatch.setattr(keras, "__version__", version)
    with pytest.raises(compat.UnsupportedKerasVersion) as raised:
        compat.initial_epoch_of(object())
    message = str(raised.value)
    assert version in message and ">=3.15,<3.16" in message and "initial_epoch_of" in message
    assert isinstance(raised.value, RuntimeError)
    assert "keras" not in compat._checked


def test_tensorflow_outside_the_range_fails_with_the_named_error(unchecked, monkeypatch):
    real = compat.installed_version
    monkeypatch.setattr(compat, "installed_version", lambda p: "2.22.0" if p == "tensorflow" else real(p))
    with pytest.raises(compat.UnsupportedKerasVersion, match=r"mlir_quantize.*<2\.22.*2\.22\.0"):
        compat.mlir_quantize(b"")


def test_version_is_checked_once(unchecked, monkeypatch):
    calls = []
    monkeypatch.setattr(compat, "installed_version", lambda p: calls.append(p) or "3.15.1")

    class Model:
        _initial_epoch = 3

    assert compat.initial_epoch_of(Model()) == 3
    compat.set_initial_epoch(Model, 4)
    assert Model._initial_epoch == 4 and calls == ["keras"]


def test_importing_compat_imports_neither_keras_nor_tensorflow():
    import subprocess
    import sys

    code = "import sys, keras_bert_zoo.compat; print(any(m in sys.modules for m in ('keras', 'tensorflow')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_no_other_module_imports_a_private_api():
    offenders = [str(path.relative_to(PACKAGE.parent)) for path in sorted(PACKAGE.rglob("*.py"))
                 if path != Path(compat.__file__) and PRIVATE_IMPORT.search(path.read_text())]
    assert offenders == []
    assert PRIVATE_IMPORT.search(Path(compat.__file__).read_text())  # the pattern finds what it looks for
