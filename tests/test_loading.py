"""kbz.load, load_tokenizer, load_preprocessor: one loader for presets, checkpoint folders and .keras files."""

import pytest
from helpers import tiny_vocabulary

import keras_bert_zoo as kbz
from keras_bert_zoo.errors import CheckpointMismatchError
from keras_bert_zoo.models import families

VOCAB = tiny_vocabulary("Hello", "world")


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory):
    encoder = kbz.BertEncoder(len(VOCAB), 1, 2, 8, 16, max_sequence_length=16)
    classifier = kbz.BertClassifier(encoder, num_classes=2, label_names=["no", "yes"])
    return kbz.save_hf(classifier, tmp_path_factory.mktemp("hf") / "classifier", vocabulary=VOCAB)


def test_model_class_picks_the_backbone_or_insists_on_a_head(classifier_folder):
    assert type(kbz.load(classifier_folder)).__name__ == "BertClassifier"
    encoder = kbz.load(classifier_folder, model_class="backbone", dropout=0.0)  # overrides go to the backbone
    assert isinstance(encoder, kbz.BertEncoder) and encoder.dropout == 0.0
    with pytest.raises(CheckpointMismatchError, match="holds a BertForSequenceClassification .BertClassifier., "
                                                      "not a BertPretrainer"):
        kbz.load(classifier_folder, model_class=kbz.BertPretrainer)


def test_keras_file_gives_its_model_or_its_backbone(classifier_folder, tmp_path):
    kbz.load(classifier_folder).save(tmp_path / "m.keras")
    assert isinstance(kbz.load(tmp_path / "m.keras", model_class="backbone"), kbz.BertEncoder)
    with pytest.raises(TypeError, match="holds a BertClassifier, not a BertPretrainer"):
        kbz.load(tmp_path / "m.keras", model_class=kbz.BertPretrainer)
    with pytest.raises(ValueError, match="holds a model, not its tokenizer"):
        kbz.load_tokenizer(tmp_path / "m.keras")


def test_tokenizer_and_preprocessor_of_a_folder(classifier_folder):
    tokenizer = kbz.load_tokenizer(classifier_folder)
    assert tokenizer.lowercase is False and tokenizer(["Hello world"]).to_list() == [[5, 6]]  # cased vocabulary
    preprocessor = kbz.load_preprocessor(classifier_folder, sequence_length=5)
    assert preprocessor(["Hello world"])["token_ids"].numpy().tolist() == [[2, 5, 6, 3, 0]]
    with pytest.raises(FileNotFoundError, match="no_such is not a preset"):
        kbz.load_tokenizer("no_such")


def test_a_family_is_one_registry_entry(classifier_folder):
    bert = families.get("bert")
    assert families.of_model(kbz.load(classifier_folder)) is bert
    assert bert.architecture_of(kbz.load(classifier_folder)).name == "BertForSequenceClassification"
    with pytest.raises(ValueError, match="model_type 'gpt2' is not one this package loads"):
        families.of_config({"model_type": "gpt2"})
