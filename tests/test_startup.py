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
RECIPES = Path(__file__).parents[1] / "recipes"
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


def test_verbose_shows_tensorflow_start_up_lines():
    # The recipe itself, run as a script: the recipes and the CLI hide (and show) the same way.
    result = subprocess.run([sys.executable, str(RECIPES / "classify.py"), "--help"], capture_output=True,
                            text=True, env=_env(**{quiet.VERBOSE_ENV: "1"}), check=True)
    assert "--train-file" in result.stdout
    assert [line for line in result.stderr.splitlines() if quiet.noise(line)], result.stderr


def test_cli_verbose_flag_sets_the_variable(monkeypatch, capsys):
    monkeypatch.delenv(quiet.VERBOSE_ENV, raising=False)
    assert main(["presets"]) == 0 and not quiet.verbose()
    assert main(["presets", "--verbose"]) == 0 and quiet.verbose()
    monkeypatch.setenv(quiet.VERBOSE_ENV, "0")
    assert main(["--verbose", "presets"]) == 0 and os.environ[quiet.VERBOSE_ENV] == "1"
    assert "bert_tiny_uncased" in capsys.readouterr().out
