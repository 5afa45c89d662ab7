"""Shared test helpers: tiny configs and random model inputs with padding."""

import os
import runpy
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the tests never download anything
# Preset weights a developer keeps in ~/.cache/keras_bert_zoo never leak into the tests (or their subprocesses).
os.environ["KERAS_BERT_ZOO_HOME"] = tempfile.mkdtemp(prefix="kbz-home-")

import numpy as np
import pytest

TINY = dict(vocabulary_size=97, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32)


def make_inputs(batch=3, seq=9, vocabulary_size=97, seed=0, num_segments=2):
    """Encoder inputs with a different amount of right padding per row (row 0 unpadded)."""
    rng = np.random.default_rng(seed)
    lengths = np.maximum(1, seq - np.arange(batch) * max(1, seq // (batch + 1)))
    padding_mask = (np.arange(seq)[None, :] < lengths[:, None]).astype("int32")
    token_ids = rng.integers(1, vocabulary_size, size=(batch, seq)).astype("int32") * padding_mask
    segment_ids = (rng.integers(0, num_segments, size=(batch, seq)) * padding_mask).astype("int32")
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}


@pytest.fixture
def run_recipe(monkeypatch, capsys):
    """`run_recipe(path, *flags)` runs a recipe script as `python PATH FLAGS...` in this process (so
    coverage and fixtures see it) and returns the lines it printed."""

    def run(path, *flags):
        monkeypatch.setattr(sys, "argv", [str(path), *map(str, flags)])
        runpy.run_path(str(path), run_name="__main__")
        return capsys.readouterr().out.strip().splitlines()

    return run


@pytest.fixture
def tiny_encoder():
    import keras

    import keras_bert_zoo as kbz

    keras.utils.set_random_seed(0)
    return kbz.BertEncoder(**TINY)
