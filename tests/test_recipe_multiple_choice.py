"""recipes/multiple_choice.py end to end in its fast mode, serving the export; and its synthetic data rebuilds."""

import json
import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import keras_bert_zoo as kbz
from keras_bert_zoo.tasks.multiple_choice import read_examples
from keras_bert_zoo.training import runs

ROOT = Path(__file__).parents[1]
RECIPE = ROOT / "recipes" / "multiple_choice.py"
DATA = ROOT / "recipes" / "data" / "multiple_choice"


def test_shipped_data_rebuilds_and_dev_is_about_new_people(tmp_path):
    script = DATA / "make_copa_like.py"
    subprocess.run([sys.executable, script, "--out-dir", tmp_path], check=True, capture_output=True)
    for name in ("train.jsonl", "dev.jsonl"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes()
    train, dev = ([json.loads(line) for line in (DATA / name).open()] for name in ("train.jsonl", "dev.jsonl"))
    assert (len(train), len(dev)) == (1000, 300)
    assert 0.4 < np.mean([row["label"] for row in train]) < 0.6  # the right answer is first about half the time
    dev_names = {name for name, _ in runpy.run_path(str(script))["DEV_PEOPLE"]}

    def names(row):
        return dev_names & set(re.findall(r"\w+", " ".join([row["context"], *row["choices"]])))

    assert all(names(row) for row in dev) and not any(names(row) for row in train)


def test_read_examples_picks_the_reader_by_extension(tmp_path):
    swag = tmp_path / "val.csv"
    swag.write_text("sent1,sent2,ending0,ending1,ending2,ending3,label\nA man sat.,He,ran.,sang.,ate.,slept.,3\n")
    examples = read_examples(swag)
    assert examples.choices == [["He ran.", "He sang.", "He ate.", "He slept."]] and examples.labels == [3]
    assert read_examples(DATA / "dev.jsonl").num_choices == 2
    with pytest.raises(SystemExit, match=r"SWAG CSV \(\.csv\) or JSON lines \(\.jsonl\)"):
        read_examples(tmp_path / "val.tsv")


@pytest.mark.slow
def test_multiple_choice_recipe_trains_evaluates_and_exports(tmp_path, run_recipe):
    lines = run_recipe(RECIPE, "--checkpoint", "bert_tiny_uncased", "--random-init", "--max-train-examples", "64",
                       "--epochs", "1",
                       "--sequence-length", "32", "--model-dir", tmp_path / "run", "--export-dir", tmp_path / "mc")
    assert re.fullmatch(r"dev accuracy: \d\.\d{4}", lines[-1])
    assert 0.0 <= float(lines[-1].split(": ")[1]) <= 1.0
    model = kbz.load(runs.model_file(tmp_path / "run"))  # the run folder `keras-bert-zoo export` reads
    assert model.num_choices == 2 and model.preprocessor is not None

    served = tf.saved_model.load(str(tmp_path / "mc" / "1")).signatures["serving_default"]
    choices = tf.constant([["It broke.", "It sang."], ["", "long " * 300], ["He slept.", "He ran home."]])
    out = served(context=tf.constant(["The glass fell.", "", "A man ran."]), choices=choices)
    assert out["probabilities"].shape == (3, 2)
    np.testing.assert_allclose(np.sum(out["probabilities"], axis=1), 1.0, rtol=1e-5)
    label_id = out["label_id"].numpy()
    np.testing.assert_array_equal(label_id, np.argmax(out["probabilities"], axis=1))
    assert out["answer"].numpy().tolist() == [choices.numpy()[row, i] for row, i in enumerate(label_id)]
