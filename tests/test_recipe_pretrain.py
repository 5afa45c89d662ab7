"""recipes/pretrain.py: its corpus rebuilds from SQuAD, and in fast mode it pretrains, saves both checkpoint
formats with the heads, exports the encoder, and classify.py fine-tunes the result with the command it prints."""

import itertools
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_zoo.data import read_pretraining_text
from keras_bert_zoo.tasks.pretrain import load_pretrainer

ROOT = Path(__file__).parents[1]
PRETRAIN = ROOT / "recipes" / "pretrain.py"
CORPUS = ROOT / "recipes" / "data" / "pretraining"
SQUAD = ROOT / "tests" / "data" / "squad" / "dev-v2.0-first5.json"  # the same file the corpus was made from


def test_shipped_corpus_rebuilds_from_squad(tmp_path):
    subprocess.run([sys.executable, CORPUS / "make_corpus.py", SQUAD, "--out-dir", tmp_path], check=True,
                   capture_output=True)
    for name in ("train.txt", "dev.txt"):
        assert (tmp_path / name).read_bytes() == (CORPUS / name).read_bytes()
    train, dev = read_pretraining_text(CORPUS / "train.txt"), read_pretraining_text(CORPUS / "dev.txt")
    assert [len(train), len(dev)] == [5, 5]  # one document per article
    assert train[0][0].startswith("The Normans (Norman: Nourmands;")
    assert not set(itertools.chain(*train)) & set(itertools.chain(*dev))


def test_sentence_splitter_keeps_abbreviations_and_initials():
    split_sentences = runpy.run_path(str(CORPUS / "make_corpus.py"))["split_sentences"]
    assert split_sentences('It rained. "Why?" she asked (twice). Dr. Li met J. R. R. Tolkien in the U.S. in 1950. '
                           "St. Paul is 3.5 km away! 2010 was dry.") == [
        "It rained.", '"Why?" she asked (twice).', "Dr. Li met J. R. R. Tolkien in the U.S. in 1950.",
        "St. Paul is 3.5 km away!", "2010 was dry."]
    assert split_sentences("no end punctuation") == ["no end punctuation"]


@pytest.mark.slow
def test_pretrain_recipe_then_classify_fine_tunes_its_checkpoint(tmp_path, run_recipe, capsys):
    run, export = tmp_path / "run", tmp_path / "export"
    lines = run_recipe(PRETRAIN, "--max-train-examples", 64, "--epochs", 1, "--sequence-length", 32,
                       "--max-predictions-per-seq", 5, "--dupe-factor", 1, "--model-dir", run, "--export-dir", export)
    match = re.fullmatch(r"MLM accuracy: (\d\.\d{4})  NSP accuracy: (\d\.\d{4})", lines[-1])
    assert match and all(0 <= float(value) <= 1 for value in match.groups())
    losses = [float(value) for line in lines if line.startswith(("training loss by epoch", "held-out loss"))
              for value in re.findall(r"\d+\.\d{3}", line)]
    assert len(losses) == 3 and all(np.isfinite(losses))  # training: 1 epoch; held-out: before, after

    # Both checkpoints hold the trained pretrainer, heads included: they load back with the same outputs.
    last = keras.saving.load_model(run / "last.keras")
    ids = np.array([[101, 1996, 103, 2001, 102, 2009, 102, 0]], "int32")  # [CLS] the [MASK] was [SEP] it [SEP]
    inputs = {"token_ids": ids, "segment_ids": np.array([[0, 0, 0, 0, 0, 1, 1, 0]], "int32"),
              "padding_mask": (ids > 0).astype("int32"), "mask_positions": np.array([[2, 5]], "int32")}
    expected = last(inputs, training=False)
    for folder in (run / "hf", run / "google"):
        assert (folder / "vocab.txt").is_file()
        pretrainer, preprocessor = load_pretrainer(str(folder), 32)
        assert len(preprocessor.tokenizer.get_vocabulary()) == last.encoder.vocabulary_size
        for name in ("mlm_logits", "nsp_logits"):
            np.testing.assert_allclose(pretrainer(inputs, training=False)[name], expected[name], atol=1e-5)
    assert "continuing from" in capsys.readouterr().out

    served = tf.saved_model.load(str(export / "1")).signatures["serving_default"]
    out = served(text=tf.constant(["The Normans gave their name to Normandy.", ""]))
    assert out["pooled_output"].shape == (2, 128) and out["mean_embedding"].shape == (2, 128)
    assert np.all(np.isfinite(out["mean_embedding"].numpy()))

    # The printed command fine-tunes the Hugging Face folder; run it in classify's fast mode.
    command = next(line for line in lines if line.startswith("fine-tune it: ")).removeprefix("fine-tune it: ")
    _python, recipe, *argv = shlex.split(command)
    assert recipe == "recipes/classify.py" and argv == ["--checkpoint", str(run / "hf")]
    lines = run_recipe(ROOT / recipe, *argv, "--max-train-examples", 64, "--epochs", 1, "--batch-size", 16,
                       "--sequence-length", 32, "--model-dir", tmp_path / "classify", "--export-dir", tmp_path / "sst2")
    assert re.fullmatch(r"dev accuracy: \d\.\d{4}", lines[-1])
