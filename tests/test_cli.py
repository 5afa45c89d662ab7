import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import transformers
from conftest import make_inputs

import keras_bert_zoo as kbz
from keras_bert_zoo.cli import main


def test_console_script_help():
    script = Path(sys.executable).parent / "keras-bert-zoo"  # the installed console script
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    assert "convert" in result.stdout and "presets" in result.stdout


def test_convert_hf_to_google_to_keras_to_hf_keeps_every_weight(tmp_path):
    kbz.save_hf(kbz.BertPretrainer(kbz.BertEncoder(97, 2, 2, 16, 32)), tmp_path / "hf",
                vocabulary=["[PAD]"] + [f"t{i}" for i in range(96)])
    assert main(["convert", str(tmp_path / "hf"), str(tmp_path / "google"), "--to", "google"]) == 0
    assert main(["convert", str(tmp_path / "google"), str(tmp_path / "m.keras"), "--to", "keras"]) == 0
    assert main(["convert", str(tmp_path / "m.keras"), str(tmp_path / "hf2"), "--to", "hf",
                 "--vocabulary", str(tmp_path / "google" / "vocab.txt")]) == 0
    first = transformers.BertForPreTraining.from_pretrained(tmp_path / "hf").state_dict()
    last = transformers.BertForPreTraining.from_pretrained(tmp_path / "hf2").state_dict()
    for name in first:
        np.testing.assert_array_equal(first[name].numpy(), last[name].numpy(), err_msg=name)
    assert (tmp_path / "hf2" / "vocab.txt").read_text() == (tmp_path / "hf" / "vocab.txt").read_text()


def test_convert_a_preset_writes_its_vocabulary(tmp_path):
    assert main(["convert", "bert_tiny_uncased", str(tmp_path / "tiny"), "--to", "hf"]) == 0
    encoder = kbz.BertEncoder.from_checkpoint(tmp_path / "tiny")
    assert encoder.num_layers == 2
    assert len((tmp_path / "tiny" / "vocab.txt").read_text().splitlines()) == 30522
    assert encoder(make_inputs(vocabulary_size=30522))["pooled_output"].shape == (3, 128)


@pytest.mark.slow
def test_train_runs_the_recipe_and_evaluate_scores_its_export(tmp_path, capsys):
    dev = Path(__file__).parents[1] / "recipes" / "data" / "sst2" / "dev.tsv"
    main(["train", "classify", "--checkpoint", "bert_tiny_uncased", "--max-train-examples", "32",
          "--batch-size", "16", "--model-dir", str(tmp_path / "run"), "--export-dir", str(tmp_path / "sst2")])
    trained = capsys.readouterr().out.strip().splitlines()[-1]
    assert trained.startswith("dev accuracy: ")
    main(["evaluate", str(tmp_path / "sst2"), "--file", str(dev)])
    out = capsys.readouterr().out
    assert f"model: {tmp_path / 'sst2' / '1'}" in out
    # The served model and the recipe's Keras model agree on every dev sentence.
    assert out.strip().splitlines()[-1] == trained.replace("dev accuracy", "accuracy")
    with pytest.raises(SystemExit, match="unrecognized arguments: --bogus"):
        main(["presets", "--bogus"])
