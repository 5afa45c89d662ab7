"""Every Hugging Face BERT class loads with `kbz.load` as the model it is, and saves back with `kbz.save_hf`
to a folder transformers loads with equal outputs and labels (tiny random models, padded batches)."""

import numpy as np
import pytest
import torch
import transformers
from conftest import make_inputs
from helpers import hf_difference, perturbed_hf_model, torch_inputs

import keras_bert_zoo as kbz

CONFIG = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
              max_position_embeddings=40, type_vocab_size=2)
TOLERANCE = 1e-5
LABELS = ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"]


def random_hf_model(cls, seed=0, **config):
    return perturbed_hf_model(cls, transformers.BertConfig(**CONFIG, **config), seed)


CASES = {  # HF class -> (our class, extra config)
    "BertForSequenceClassification": (kbz.BertClassifier, dict(id2label={0: "negative", 1: "neutral", 2: "positive"})),
    "BertForTokenClassification": (kbz.BertTokenClassifier, dict(id2label=dict(enumerate(LABELS)))),
    "BertForQuestionAnswering": (kbz.BertSpanQA, {}),
    "BertForMultipleChoice": (kbz.BertMultipleChoice, {}),
    "BertForMaskedLM": (kbz.BertPretrainer, {}),
    "BertForPreTraining": (kbz.BertPretrainer, {}),
}


@pytest.mark.parametrize("name", CASES)
def test_hf_task_checkpoint_loads_as_its_class_and_saves_back(name, tmp_path):
    our_class, config = CASES[name]
    theirs = random_hf_model(getattr(transformers, name), **config)
    theirs.save_pretrained(tmp_path / "hf")
    ours = kbz.load(tmp_path / "hf")
    assert type(ours) is our_class
    inputs = make_inputs(batch=3, seq=9, vocabulary_size=99)
    assert hf_difference(ours, theirs, inputs) <= TOLERANCE
    if "id2label" in config:
        assert ours.label_names == list(config["id2label"].values())
    if name == "BertForMaskedLM":
        assert ours.next_sentence is False and set(ours.output) == {"mlm_logits"}

    kbz.save_hf(ours, tmp_path / "back")
    again = getattr(transformers, name).from_pretrained(tmp_path / "back").eval()
    assert again.config.architectures == [name]
    assert again.config.id2label == theirs.config.id2label
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[key].numpy(), value.numpy(), err_msg=key)
    assert type(kbz.load(tmp_path / "back")) is our_class


def test_regression_checkpoint_loads_as_a_regressor(tmp_path):
    theirs = random_hf_model(transformers.BertForSequenceClassification, num_labels=1, problem_type="regression")
    theirs.save_pretrained(tmp_path / "hf")
    ours = kbz.load(tmp_path / "hf")
    assert ours.num_classes == 1
    inputs = make_inputs(vocabulary_size=99)
    assert hf_difference(ours, theirs, inputs) <= TOLERANCE
    kbz.save_hf(ours, tmp_path / "back")
    assert transformers.AutoConfig.from_pretrained(tmp_path / "back").problem_type == "regression"


def test_task_checkpoint_loads_its_encoder_alone_and_an_unknown_class_is_named(tmp_path, caplog):
    theirs = random_hf_model(transformers.BertForTokenClassification)  # no pooler in the file
    theirs.save_pretrained(tmp_path / "hf")
    encoder = kbz.load(tmp_path / "hf", model_class="backbone")
    assert "no [CLS] pooler" in caplog.text
    inputs = make_inputs(vocabulary_size=99)
    with torch.no_grad():
        hidden = theirs.bert(**torch_inputs(inputs)).last_hidden_state.numpy()
    mask = inputs["padding_mask"].astype(bool)
    assert np.abs(np.asarray(encoder(inputs)["sequence_output"]) - hidden)[mask].max() <= TOLERANCE
    (tmp_path / "hf" / "config.json").write_text(
        (tmp_path / "hf" / "config.json").read_text().replace("BertForTokenClassification", "RobertaModel"))
    with pytest.raises(ValueError, match=r"architectures\[0\] is 'RobertaModel'.*BertForTokenClassification"):
        kbz.load(tmp_path / "hf")


def test_task_models_round_trip_their_labels_through_keras_files(tmp_path):
    encoder = kbz.BertEncoder(vocabulary_size=99, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16)
    model = kbz.BertTokenClassifier(encoder, num_classes=5, label_names=LABELS)
    model.save(tmp_path / "m.keras")
    assert kbz.load(tmp_path / "m.keras").label_names == LABELS
    with pytest.raises(ValueError, match="2 label names for 3 classes"):
        kbz.BertClassifier(encoder, num_classes=3, label_names=["a", "b"])
    with pytest.raises(FileNotFoundError, match="no_such is not a preset"):
        kbz.load("no_such")
