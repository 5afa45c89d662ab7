"""`save_keras` writes the archive Keras writes, without the weights passing through Python's memory."""

import tracemalloc
import zipfile

import keras
import numpy as np

from keras_bert_zoo.training.keras_file import save_keras


def _trained_model():
    keras.utils.set_random_seed(0)
    # 8 variables of 256 KB: 6 MB with Adam's slots, each variable a small part of it
    model = keras.Sequential([keras.Input([256])] + [keras.layers.Dense(256) for _ in range(8)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones([4, 256]), np.ones([4, 256]), verbose=0)
    return model


def test_same_archive_as_keras_and_the_same_model_back(tmp_path):
    model = _trained_model()
    save_keras(model, tmp_path / "ours.keras")
    model.save(tmp_path / "keras.keras")
    ours, theirs = zipfile.ZipFile(tmp_path / "ours.keras"), zipfile.ZipFile(tmp_path / "keras.keras")
    assert [i.filename for i in ours.infolist()] == [i.filename for i in theirs.infolist()]
    assert {i.compress_type for i in ours.infolist()} == {zipfile.ZIP_STORED}
    assert ours.read("config.json") == theirs.read("config.json")
    back = keras.saving.load_model(tmp_path / "ours.keras")
    for a, b in zip(model.variables + model.optimizer.variables, back.variables + back.optimizer.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    assert int(back.optimizer.iterations) == 1
    assert [p.name for p in tmp_path.iterdir()] != [] and not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_weights_do_not_pass_through_python_memory(tmp_path):
    model = _trained_model()
    weights = sum(v.numpy().nbytes for v in model.variables + model.optimizer.variables)

    def peak(save):
        tracemalloc.start()
        save()
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    assert peak(lambda: model.save(tmp_path / "keras.keras")) > weights  # Keras: an in-memory .h5
    assert peak(lambda: save_keras(model, tmp_path / "ours.keras")) < weights / 4  # a variable or two at a time
