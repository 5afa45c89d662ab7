"""recipes/classify.py end to end in its fast mode: train, evaluate, export, and serve the export."""

from pathlib import Path

import pytest
import tensorflow as tf

RECIPE = Path(__file__).parents[1] / "recipes" / "classify.py"


@pytest.mark.slow
def test_classify_recipe_trains_evaluates_and_exports(tmp_path, run_recipe):
    lines = run_recipe(RECIPE, "--checkpoint", "bert_tiny_uncased", "--random-init", "--max-train-examples", "64",
                       "--epochs", "1",
                       "--batch-size", "16", "--model-dir", tmp_path / "run", "--export-dir", tmp_path / "sst2")
    assert lines[-1].startswith("dev accuracy: ")
    assert 0.0 <= float(lines[-1].split(": ")[1]) <= 1.0
    assert (tmp_path / "run" / "last.keras").is_file()

    served = tf.saved_model.load(str(tmp_path / "sst2" / "1")).signatures["serving_default"]
    out = served(text=tf.constant(["a great movie", "", "dull and tedious " * 200]))
    assert out["probabilities"].shape == (3, 2)
    assert set(out["label"].numpy().tolist()) <= {b"negative", b"positive"}  # SST-2 named
