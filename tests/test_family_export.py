"""Every family's exports: SavedModel (TF2 and the TF1 session TF Serving uses) with raw strings in, ONNX,
and TFLite (with the tokenizer inside where LiteRT runs it), each equal to the Keras model."""

import pytest
from family_folders import family_folder
from helpers import check_export

import keras_bert_zoo as kbz

TEXTS = ["a gorgeous , witty film", "", "so dull that I left 🙃 early", "naïve  and\tcharming"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("families")


def classifier(root, family, head="ForSequenceClassification"):
    folder = family_folder(root, family, head)
    model = kbz.load(folder)
    model.preprocessor = kbz.load_preprocessor(folder, sequence_length=32)
    return model


@pytest.mark.slow
@pytest.mark.parametrize("family", ["roberta", "xlm-roberta", "electra", "albert", "deberta-v2"])
def test_a_classifier_of_each_family_exports_to_every_format(family, root, tmp_path):
    check_export(classifier(root, family), TEXTS, tmp_path, formats=("saved_model", "tf1", "onnx"))


@pytest.mark.parametrize("family", ["roberta", "xlm-roberta", "electra", "albert", "deberta-v2"])
def test_tflite(family, root, tmp_path):
    check_export(classifier(root, family), TEXTS, tmp_path, formats=("tflite",))
