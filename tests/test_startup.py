"""Start-up: help, argument errors and `presets` never import TensorFlow; TensorFlow's start-up lines stay hidden."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

import keras_bert_zoo as kbz
from keras_bert_zoo import quiet
from keras_bert_zoo.cli import main

SCRIPT = Path(sys.executable).parent / "keras-bert-zoo"  # the installed console script
TASKS = Path(kbz.__file__).parent / "tasks"
# Names the package exported before its __init__ became lazy: each must still be there.
NAMES = ["data", "distribute", "export", "metrics", "presets", "training", "save_google_checkpoint", "save_hf",
         "BertEncoder", "BertClassifier", "BertMultipleChoice", "BertPretrainer", "BertSpanQA",
         "BertTokenClassifier", "BertPreprocessor", "BertTokenizer", "__version__"]


def _env(**extra):
    env = {key: value for key, value in os.environ.items() if key not in (quiet.VERBOSE_ENV, "TF_CPP_MIN_LOG_LEVEL")}
    return {**env, **extra}


def test_help_argument_errors_and_presets_do_not_import_tensorflow():
    code = """if True:
        import sys
        import keras_bert_zoo as kbz
        from keras_bert_zoo.cli import main
        for argv in (["--help"], ["presets"], ["train", "--help"], ["predict"], ["bogus"], ["export", "x"]):
            try:
                main(argv)
            except SystemExit:
                pass
        kbz.presets.get("bert_tiny_uncased"), dir(kbz)
        print("loaded:", sorted(name for name in ("tensorflow", "keras", "keras_hub", "torch") if name in sys.modules))
    """
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True)
    assert result.stdout.strip().splitlines()[-1] == "loaded: []"
    assert "bert_tiny_uncased" in result.stdout and "usage: keras-bert-zoo predict" in result.stderr


def test_the_lazy_package_keeps_its_names():
    assert set(NAMES) <= set(dir(kbz)) and set(NAMES) - {"__version__"} <= set(kbz.__all__)
    from keras_bert_zoo import BertEncoder, save_hf  # noqa: F401

    for name, module in kbz._LAZY.items():
        if importlib.util.find_spec(module) is not None:  # keras_bert_zoo.loading may not be there yet
            assert getattr(kbz, name) is not None
    assert kbz.export.saved_model and kbz.BertClassifier.__module__.startswith("keras_bert_zoo.models")
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        kbz.nothing  # noqa: B018


def test_train_task_help_shows_the_recipe_flags_without_tensorflow_start_up_lines():
    result = subprocess.run([str(SCRIPT), "train", "classify", "--help"], capture_output=True, text=True,
                            env=_env(), check=True)
    assert "--train-file" in result.stdout and "--max-train-examples" in result.stdout
    lines = result.stderr.splitlines()
    assert not [line for line in lines if quiet.noise(line)], result.stderr
    for marker in ("cuInit", "oneDNN", "cudart_stub", "absl::InitializeLog", "cpu_feature_guard"):
        assert marker not in result.stderr


FAKE_TENSORFLOW = """if True:
    import os
    os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n")
    os.write(2, b"I0000 00:00:1.2 7 cudart_stub.cc:31] Could not find cuda drivers on your machine.\\n")
    os.write(2, b"a real problem\\n")
    if os.environ.get("FAIL"):
        raise ImportError("no TensorFlow here")

    class config:
        def list_physical_devices():
            os.write(2, b"E0000 00:00:1.2 7 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)\\n")
            return []
"""


@pytest.mark.parametrize("verbose, fail", [("", ""), ("1", ""), ("", "1")])
def test_import_tensorflow_hides_only_the_start_up_lines(tmp_path, verbose, fail):
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text(FAKE_TENSORFLOW)
    code = "from keras_bert_zoo.quiet import import_tensorflow; import_tensorflow()"  # it looks up the devices
    env = _env(**{quiet.VERBOSE_ENV: verbose, "FAIL": fail, "PYTHONPATH": str(tmp_path)})
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == (1 if fail else 0)
    lines = result.stderr.splitlines()
    assert "a real problem" in lines
    if fail:  # the traceback shows, after what the import printed
        assert lines[-1] == "ImportError: no TensorFlow here" and not any(quiet.noise(line) for line in lines)
    elif verbose:
        assert sum(quiet.noise(line) for line in lines) == 2, result.stderr  # cuInit comes at the first op
    else:
        assert lines == ["a real problem"]


def test_the_tasks_import_tensorflow_quietly_before_keras():
    for task in TASKS.glob("*.py"):
        if task.name != "__init__.py":
            source = task.read_text().replace("\nfrom keras_bert_zoo.quiet import import_tensorflow\n", "\n")
            assert "\nimport_tensorflow()" in source, task
            first_keras = min((source.index(line) for line in ("\nimport keras\n", "\nfrom keras_bert_zoo.")
                               if line in source), default=len(source))  # the package's modules import Keras
            assert source.index("\nimport_tensorflow()") < first_keras, task


def test_cli_verbose_flag_sets_the_variable(monkeypatch, capsys):
    monkeypatch.delenv(quiet.VERBOSE_ENV, raising=False)
    assert main(["presets"]) == 0 and not quiet.verbose()
    assert main(["presets", "--verbose"]) == 0 and quiet.verbose()
    monkeypatch.setenv(quiet.VERBOSE_ENV, "0")
    assert main(["--verbose", "presets"]) == 0 and os.environ[quiet.VERBOSE_ENV] == "1"
    assert "bert_tiny_uncased" in capsys.readouterr().out
