"""The package's layering, kept: importing a level never loads a module of a higher level.

layers -> models (backbones per family, heads) and checkpoints/presets (files and data, beside each
other) -> text -> loading/saving -> data -> training/distribute -> compress -> export -> tasks -> cli. Functions may not
work around it with imports inside them (only optional heavy dependencies and cli's lazy imports do).
"""

import json
import subprocess
import sys
import textwrap

LEVELS = [
    ["lazy", "errors", "names", "vocabulary", "layers"],
    ["checkpoints", "checkpoints.weight_map", "presets", "preset_weights"],
    ["models", "models.families"],
    ["text"],
    ["loading", "saving"],
    ["data", "metrics"],
    ["training", "training.runs", "distribute"],
    ["compress"],
    ["export"],
    ["tasks", "tasks.classify", "tasks.multiple_choice", "tasks.ner", "tasks.pretrain", "tasks.pretrain_electra",
     "tasks.squad", "tasks.summarize_extractive", "tasks.distill",
     "tasks.seq2seq", "tasks.summarize", "tasks.translate"],
    ["cli"],
]


def _loaded_after_each(modules):
    """{module: the keras_bert_zoo modules loaded once it and every module before it are imported}."""
    script = textwrap.dedent("""
        import importlib, json, sys
        loaded = {}
        for name in sys.argv[1:]:
            importlib.import_module(f"keras_bert_zoo.{name}")
            loaded[name] = sorted(m[len("keras_bert_zoo."):] for m in sys.modules if m.startswith("keras_bert_zoo."))
        print(json.dumps(loaded))
    """)
    out = subprocess.run([sys.executable, "-c", script, *modules], capture_output=True, text=True, check=True,
                         timeout=300).stdout
    return json.loads(out.splitlines()[-1])


def _level(module):
    for level, names in enumerate(LEVELS):
        if any(module == name or module.startswith(f"{name}.") for name in names if "." not in name):
            return level
    return None  # a helper outside the levels (quiet, progress, compat)


def test_no_level_imports_a_higher_one():
    order = [name for names in LEVELS for name in names]
    loaded = _loaded_after_each(order)
    for name in order:
        higher = [m for m in loaded[name] if (_level(m) or 0) > _level(name)]
        assert not higher, f"importing keras_bert_zoo.{name} (and the levels below it) loads {higher}"


def test_checkpoints_is_a_leaf():
    """Checkpoint files are read and written with the names a caller hands in: no model, text or preset."""
    loaded = _loaded_after_each(["checkpoints", "checkpoints.weight_map"])["checkpoints.weight_map"]
    # `lazy` is the package's own __init__ helper, loaded with any module of it.
    assert not [m for m in loaded if m.split(".")[0] not in ("checkpoints", "errors", "vocabulary", "lazy")], loaded
