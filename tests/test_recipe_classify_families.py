"""recipes/classify.py --checkpoint <a Hugging Face folder of any family>: fine-tunes it, exports a SavedModel
that takes raw strings, and the export answers as the fine-tuned model does."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from family_folders import SST2, family_folder

import keras_bert_zoo as kbz

RECIPE = Path(__file__).parents[1] / "recipes" / "classify.py"
TEXTS = ["a gorgeous , witty film", "", "so dull that I left early"]


@pytest.mark.slow
@pytest.mark.parametrize("family", ["roberta", "xlm-roberta", "distilbert", "electra", "albert", "deberta-v2"])
def test_classify_recipe_fine_tunes_and_exports_each_family(family, tmp_path, run_recipe):
    folder = family_folder(tmp_path, family, head="Model")
    dev = tmp_path / "dev.tsv"
    dev.write_text("".join((SST2 / "dev.tsv").read_text(encoding="utf-8").splitlines(keepends=True)[:33]))
    lines = run_recipe(RECIPE, "--checkpoint", folder, "--max-train-examples", "32", "--batch-size", "16",
                       "--sequence-length", "64", "--dev-file", dev, "--model-dir", tmp_path / "run",
                       "--export-dir", tmp_path / "sst2")
    assert lines[0] == f"weights: checkpoint folder {folder}"
    assert lines[-1].startswith("dev accuracy: ")

    trained = keras.saving.load_model(tmp_path / "run" / "last.keras")
    assert type(trained.encoder) is type(kbz.load(folder, model_class="backbone"))
    expected = trained(trained.preprocessor(tf.constant(TEXTS)), training=False).numpy()
    served = tf.saved_model.load(str(tmp_path / "sst2" / "1")).signatures["serving_default"]
    out = served(text=tf.constant(TEXTS))
    np.testing.assert_allclose(out["probabilities"].numpy(), tf.nn.softmax(expected).numpy(), atol=1e-5)
    assert set(out["label"].numpy().tolist()) <= {b"negative", b"positive"}
