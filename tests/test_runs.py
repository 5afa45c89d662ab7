"""The recipes' shared structure: run folders that `keras-bert-zoo export` reads back, batch counting."""

import argparse

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import tiny_vocabulary

import keras_bert_zoo as kbz
from keras_bert_zoo.training import runs

VOCAB = tiny_vocabulary("good", "bad", "movie")


def test_a_saved_run_loads_back_with_its_preprocessor_and_export_arguments(tmp_path):
    keras.utils.set_random_seed(0)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB), sequence_length=8, padding="longest")
    model = kbz.BertClassifier(kbz.BertEncoder(len(VOCAB), 1, 2, 8, 16), num_classes=2, label_names=["neg", "pos"],
                               pair=False, preprocessor=preprocessor)
    model.save(tmp_path / "last.keras")
    runs.save_run_info(tmp_path)

    loaded = kbz.load(runs.model_file(tmp_path))  # no best.keras: falls back to last
    loaded_preprocessor = loaded.preprocessor
    assert (loaded.label_names, loaded.pair) == (["neg", "pos"], False)
    texts = tf.constant(["good movie", "bad"])
    assert loaded_preprocessor.padding == "longest"
    np.testing.assert_allclose(loaded(loaded_preprocessor(texts)), model(preprocessor(texts)), atol=1e-6)


def test_model_file_names_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"needs best.keras \(or last.keras\)"):
        runs.model_file(tmp_path)
    with pytest.raises(ValueError, match='"best" or "last"'):
        runs.model_file(tmp_path, which="latest")


def test_count_batches_with_known_and_unknown_cardinality():
    ds = tf.data.Dataset.range(10).batch(3)
    assert runs.count_batches(ds) == 4
    assert runs.count_batches(ds.filter(lambda batch: tf.size(batch) > 1)) == 3  # cardinality unknown
    assert runs.steps_per_epoch(10, 3) == 4


def test_unknown_checkpoint_is_a_clear_error():
    with pytest.raises(SystemExit, match="neither a preset .* nor a checkpoint folder"):
        runs.load_encoder_and_preprocessor("no_such_model", 16)


def test_a_preset_without_weights_stops_unless_random_init_is_asked(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_BERT_ZOO_HOME", str(tmp_path))
    with pytest.raises(SystemExit, match="error: No weights for preset 'bert_tiny_uncased'.*--random-init"):
        runs.load_encoder_and_preprocessor("bert_tiny_uncased", 16)
    encoder, _ = runs.load_encoder_and_preprocessor("bert_tiny_uncased", 16, random_init=True)
    assert capsys.readouterr().out == "weights: random (--random-init), the architecture of preset bert_tiny_uncased\n"
    kbz.save_hf(encoder, tmp_path / "bert_tiny_uncased", vocabulary=kbz.presets.vocabulary_file("bert_tiny_uncased"))
    runs.load_encoder_and_preprocessor("bert_tiny_uncased", 16)
    assert capsys.readouterr().out == f"weights: preset bert_tiny_uncased from cache {tmp_path / 'bert_tiny_uncased'}\n"


def test_common_flags_defaults():
    parser = runs.add_common_flags(argparse.ArgumentParser(), "bert_tiny_uncased", "runs/x", "saved_models/x")
    args = parser.parse_args([])
    assert (args.checkpoint, args.epochs, args.backup_every, args.jit_compile) == ("bert_tiny_uncased", 1, 50, False)
    assert (args.random_init, args.tpu) == (False, None)


def test_tpu_flag_reaches_the_strategy(monkeypatch, tmp_path):
    asked = {}
    monkeypatch.setattr(runs, "get_strategy", lambda name, tpu=None: asked.update(name=name, tpu=tpu))
    parser = runs.add_common_flags(argparse.ArgumentParser(), "bert_tiny_uncased", str(tmp_path), "saved_models/x")
    runs.configure(parser.parse_args(["--strategy", "tpu", "--tpu", "grpc://10.0.0.2:8470"]))
    runs.finish(tmp_path)
    assert asked == {"name": "tpu", "tpu": "grpc://10.0.0.2:8470"}
