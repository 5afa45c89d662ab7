"""The DistilBERT family: `DistilBertEncoder` and every Hugging Face DistilBert class load with `kbz.load` and
compute what transformers computes (tiny random models, perturbed weights, right- and left-padded batches),
and save back with `kbz.save_hf` to folders transformers loads with equal weights."""

import dataclasses
import json

import numpy as np
import pytest
import torch
import transformers
from helpers import (
    TINY_VOCABULARY,
    check_export,
    check_layer,
    check_task,
    hf_difference,
    padded_inputs,
    perturbed_hf_model,
    tiny_preprocessor,
    tiny_vocabulary,
    torch_inputs,
)

import keras_bert_zoo as kbz
from keras_bert_zoo import preset_weights, presets
from keras_bert_zoo.errors import CheckpointError, CheckpointMismatchError
from keras_bert_zoo.models.distilbert import DistilBertEncoder
from keras_bert_zoo.models.distilbert.hf_config import config_from_hf

CONFIG = dict(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=40)
TOLERANCE = 1e-5


def random_hf_distilbert(cls, seed=0, **config):
    """A transformers DistilBERT `cls`, eager attention, every tensor moved off its init values."""
    return perturbed_hf_model(cls, transformers.DistilBertConfig(**CONFIG, **config, attn_implementation="eager"),
                              seed)


def padded_batches():
    """A right-padded batch and the same rows left-padded (DistilBERT has no token types)."""
    return [padded_inputs(vocabulary_size=CONFIG["vocab_size"], segments=False, left=left) for left in (False, True)]


def encoder_difference(ours, theirs, inputs):
    """Max abs difference of `sequence_output` and transformers' `last_hidden_state` on real tokens."""
    with torch.no_grad():
        reference = theirs(**torch_inputs(inputs)).last_hidden_state.numpy()
    mask = inputs["padding_mask"].astype(bool)
    return np.abs(np.asarray(ours(inputs)["sequence_output"]) - reference)[mask].max()


def test_encoder_matches_distilbert_model_and_saves_back(tmp_path):
    theirs = random_hf_distilbert(transformers.DistilBertModel)
    theirs.save_pretrained(tmp_path / "hf")
    ours = kbz.load(tmp_path / "hf")
    assert type(ours) is DistilBertEncoder and set(ours.input) == {"token_ids", "padding_mask"}
    assert (ours.hidden_dim, ours.intermediate_dim, ours.max_sequence_length) == (32, 37, 40)
    for inputs in padded_batches():
        assert encoder_difference(ours, theirs, inputs) <= TOLERANCE

    kbz.save_hf(ours, tmp_path / "back")
    config = json.loads((tmp_path / "back" / "config.json").read_text())
    assert config["architectures"] == ["DistilBertModel"] and config["model_type"] == "distilbert"
    again = transformers.DistilBertModel.from_pretrained(tmp_path / "back").eval()
    assert (again.config.dim, again.config.hidden_dim, again.config.n_layers) == (32, 37, 2)
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[key].numpy(), value.numpy(), err_msg=key)


def test_sinusoidal_position_table_loads_from_the_weights(tmp_path):
    theirs = random_hf_distilbert(transformers.DistilBertModel, sinusoidal_pos_embds=True)
    table = theirs.embeddings.position_embeddings.weight.detach().numpy()
    theirs.save_pretrained(tmp_path / "hf")
    ours = kbz.load(tmp_path / "hf")
    np.testing.assert_array_equal(np.asarray(ours.position_embedding.position_embeddings), table)
    assert encoder_difference(ours, theirs, padded_batches()[0]) <= TOLERANCE


def test_encoder_config_keras_file_and_mixed_precision():
    encoder = DistilBertEncoder(vocabulary_size=50, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=24,
                                max_sequence_length=12, dropout=0.2, attention_dropout=0.3)
    inputs = {"token_ids": np.ones((2, 5), "int32"), "padding_mask": np.array([[1] * 5, [1, 1, 1, 0, 0]], "int32")}
    full = check_layer(encoder, inputs, {"sequence_output": (2, 5, 16)})["sequence_output"]
    for policy, tolerance in (("mixed_float16", 0.05), ("mixed_bfloat16", 0.2)):
        half = DistilBertEncoder.from_config({**encoder.get_config(), "dtype": policy})
        half.set_weights(encoder.get_weights())
        assert all(w.dtype == "float32" for w in half.weights)  # variables stay float32
        out = half(inputs)["sequence_output"]
        assert out.dtype == policy.split("_")[1]
        np.testing.assert_allclose(np.asarray(out, "float32"), np.asarray(full), atol=tolerance)
    assert DistilBertEncoder.default_classifier_head == DistilBertEncoder.default_multiple_choice_head == "dense_relu"


def test_an_encoder_transformers_cannot_hold_is_not_saved_as_distilbert(tmp_path):
    with pytest.raises(ValueError, match="transformers' DistilBERT has LayerNorm epsilon 1e-12, this encoder 1e-05"):
        kbz.save_hf(DistilBertEncoder(50, 1, 2, 16, 24, layer_norm_epsilon=1e-5), tmp_path)


def test_dropouts_go_where_distilbert_puts_them():
    """attention_dropout drops attention probabilities only; nothing drops the attention output."""
    def block(**rates):
        encoder = DistilBertEncoder(50, 1, 2, 16, 24, **rates)
        layer = encoder.transformer_layers[0]
        return layer._self_attention_layer.dropout, layer._self_attention_dropout.rate, layer._feedforward_dropout.rate

    assert block(dropout=0.1, attention_dropout=0.3) == (0.3, 0.0, 0.1)
    inputs = {"token_ids": np.ones((1, 6), "int32"), "padding_mask": np.ones((1, 6), "int32")}
    still = DistilBertEncoder(50, 1, 2, 16, 24, dropout=0.0, attention_dropout=0.0)
    np.testing.assert_array_equal(np.asarray(still(inputs, training=True)["sequence_output"]),
                                  np.asarray(still(inputs)["sequence_output"]))
    attention_only = DistilBertEncoder(50, 1, 2, 16, 24, dropout=0.0, attention_dropout=0.5)
    assert not np.array_equal(np.asarray(attention_only(inputs, training=True)["sequence_output"]),
                              np.asarray(attention_only(inputs)["sequence_output"]))


@pytest.mark.parametrize("change, message", [
    ({"dim": None}, r"config\.json: lacks dim; it is not a DistilBERT config"),
    ({"n_heads": 5}, r"config\.json: dim=32 is not divisible by n_heads=5"),
    ({"attention_dropout": 1.5}, r"config\.json: attention_dropout=1\.5 is not a number in \[0, 1\)"),
    ({"activation": "mish"}, r"config\.json: activation='mish' is not one of"),
    ({"sinusoidal_pos_embds": "yes"}, r"config\.json: sinusoidal_pos_embds='yes' is not true or false"),
    ({"hidden_dim": 64}, r"config\.json: does not match .*hidden_dim=64 but distilbert\.transformer\.layer\.0\.ffn"
                         r"\.lin1\.weight says 37"),
    ({"n_layers": 3}, r"config\.json: does not match .*n_layers=3 but the weights hold 2 layers"),
])
def test_a_bad_config_is_named_with_its_file_and_key(tmp_path, change, message):
    random_hf_distilbert(transformers.DistilBertModel).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    for key, value in change.items():
        config.pop(key) if value is None else config.__setitem__(key, value)
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=message) as error:
        kbz.load(tmp_path)
    assert isinstance(error.value, CheckpointMismatchError) == ("does not match" in message)


LABELS = ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"]
CASES = {  # HF class -> (our class, extra config)
    "DistilBertForMaskedLM": (kbz.BertPretrainer, {}),
    "DistilBertForSequenceClassification": (kbz.BertClassifier, dict(id2label={0: "neg", 1: "neutral", 2: "pos"})),
    "DistilBertForTokenClassification": (kbz.BertTokenClassifier, dict(id2label=dict(enumerate(LABELS)))),
    "DistilBertForQuestionAnswering": (kbz.BertSpanQA, {}),
    "DistilBertForMultipleChoice": (kbz.BertMultipleChoice, {}),
}


@pytest.mark.parametrize("name", CASES)
def test_distilbert_task_checkpoint_loads_as_its_class_and_saves_back(name, tmp_path):
    our_class, config = CASES[name]
    theirs = random_hf_distilbert(getattr(transformers, name), **config)
    theirs.save_pretrained(tmp_path / "hf")
    ours = kbz.load(tmp_path / "hf")
    assert type(ours) is our_class and type(ours.encoder) is DistilBertEncoder
    assert set(ours.input) >= {"token_ids", "padding_mask"} and "segment_ids" not in ours.input
    for inputs in padded_batches():
        assert hf_difference(ours, theirs, inputs) <= TOLERANCE
    if "id2label" in config:
        assert ours.label_names == list(config["id2label"].values())
    if name.endswith(("SequenceClassification", "MultipleChoice")):
        assert ours.head == "dense_relu"

    kbz.save_hf(ours, tmp_path / "back")
    again = getattr(transformers, name).from_pretrained(tmp_path / "back").eval()
    assert again.config.architectures == [name]
    assert again.config.id2label == theirs.config.id2label
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[key].numpy(), value.numpy(), err_msg=key)
    assert type(kbz.load(tmp_path / "back")) is our_class


@pytest.mark.parametrize("activation", ["gelu_new", "relu"])
def test_config_activation_drives_the_blocks_and_the_masked_lm_transform(activation, tmp_path):
    """transformers' DistilBERT applies `activation` in its feed-forwards and in vocab_transform alike."""
    theirs = random_hf_distilbert(transformers.DistilBertForMaskedLM, activation=activation)
    theirs.save_pretrained(tmp_path)
    ours = kbz.load(tmp_path)
    assert ours.encoder.activation == {"gelu_new": "gelu_approximate"}.get(activation, activation)
    for inputs in padded_batches():
        assert hf_difference(ours, theirs, inputs) <= TOLERANCE


def test_heads_on_a_distilbert_encoder_keep_the_task_contract():
    """Config and .keras round trips, float32 logits under mixed precision; NSP needs a pooler DistilBERT lacks."""
    encoder = DistilBertEncoder(50, 1, 2, 16, 24)
    inputs = {"token_ids": np.array([[2, 7, 9, 3], [2, 8, 3, 0]], "int32"),
              "padding_mask": np.array([[1, 1, 1, 1], [1, 1, 1, 0]], "int32")}
    assert check_task(kbz.BertClassifier(encoder, num_classes=3), inputs).shape == (2, 3)
    choices = {key: np.stack([value, value[::-1]], axis=1) for key, value in inputs.items()}
    assert check_task(kbz.BertMultipleChoice(encoder, num_choices=None), choices).shape == (2, 2)
    mlm = check_task(kbz.BertPretrainer(encoder, next_sentence=False),
                     {**inputs, "mask_positions": np.array([[1, 2], [0, 1]], "int32")})
    assert set(mlm) == {"mlm_logits"} and mlm["mlm_logits"].shape == (2, 2, 50)
    with pytest.raises(ValueError, match="next_sentence=True needs a pooled_output; DistilBertEncoder has none"):
        kbz.BertPretrainer(encoder)


def test_task_checkpoint_gives_its_encoder_alone(tmp_path):
    theirs = random_hf_distilbert(transformers.DistilBertForQuestionAnswering)
    theirs.save_pretrained(tmp_path)
    encoder = kbz.load(tmp_path, model_class="backbone")
    assert type(encoder) is DistilBertEncoder
    assert encoder_difference(encoder, theirs.distilbert, padded_batches()[1]) <= TOLERANCE


def test_old_masked_lm_files_with_the_tied_decoder_and_no_architectures_load(tmp_path):
    """Older DistilBERT files store vocab_projector.weight (the word embeddings again) and may name no class."""
    from safetensors.numpy import load_file, save_file

    theirs = random_hf_distilbert(transformers.DistilBertForMaskedLM)
    theirs.save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    config = json.loads((tmp_path / "config.json").read_text())
    del config["architectures"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    save_file({**state, "vocab_projector.weight": state["distilbert.embeddings.word_embeddings.weight"]},
              tmp_path / "model.safetensors", metadata={"format": "pt"})
    ours = kbz.load(tmp_path)
    assert type(ours) is kbz.BertPretrainer and ours.next_sentence is False
    assert hf_difference(ours, theirs, padded_batches()[0]) <= TOLERANCE

    save_file({**state, "vocab_projector.weight": state["distilbert.embeddings.word_embeddings.weight"] + 1},
              tmp_path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(CheckpointMismatchError,
                       match="vocab_projector.weight differs from distilbert.embeddings.word_embeddings.weight"):
        kbz.load(tmp_path)


def test_convert_cli_takes_a_distilbert_classifier_through_keras_and_back(tmp_path, capsys):
    from keras_bert_zoo.cli import main

    theirs = random_hf_distilbert(transformers.DistilBertForSequenceClassification, id2label={0: "neg", 1: "pos"})
    theirs.save_pretrained(tmp_path / "hf")
    assert main(["convert", str(tmp_path / "hf"), str(tmp_path / "m.keras"), "--to", "keras"]) == 0
    assert main(["convert", str(tmp_path / "m.keras"), str(tmp_path / "back"), "--to", "hf"]) == 0
    assert "wrote BertClassifier" in capsys.readouterr().out
    again = transformers.DistilBertForSequenceClassification.from_pretrained(tmp_path / "back")
    assert again.config.id2label == {0: "neg", 1: "pos"}
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[key].numpy(), value.numpy(), err_msg=key)
    with pytest.raises(SystemExit, match="holds BERT models only; this model is 'distilbert'"):
        main(["convert", str(tmp_path / "hf"), str(tmp_path / "google"), "--to", "google"])


@pytest.mark.parametrize("name, vocabulary_size", [("distilbert_base_uncased", 30522),
                                                   ("distilbert_base_cased", 28996)])
def test_presets_are_the_public_architectures_and_name_their_weights(name, vocabulary_size):
    public = transformers.DistilBertConfig(vocab_size=vocabulary_size).to_dict()  # the defaults: distilbert-base
    preset = presets.get(name)
    assert preset.model_type == "distilbert"
    assert preset.config == {**config_from_hf(public, "config.json"), "layer_norm_epsilon": 1e-12}
    assert type(kbz.load(name, weights=None)) is DistilBertEncoder
    with pytest.raises(preset_weights.MissingWeightsError, match=f"distilbert/{name.replace('_', '-')}"):
        kbz.load(name)


def test_a_preset_loads_the_weights_folder_a_user_names_and_refuses_another_architecture(tmp_path, monkeypatch):
    theirs = random_hf_distilbert(transformers.DistilBertForSequenceClassification)
    theirs.save_pretrained(tmp_path / "hf")
    (tmp_path / "hf" / "vocab.txt").write_text("\n".join(tiny_vocabulary(*(f"t{i}" for i in range(5, 99)))) + "\n")
    with pytest.raises(preset_weights.PresetWeightsError,
                       match="does not hold preset 'distilbert_base_cased': vocabulary_size=99 .the preset has 28996."):
        kbz.load("distilbert_base_cased", weights=tmp_path / "hf")
    tiny = config_from_hf(theirs.config.to_dict(), "config.json")
    monkeypatch.setitem(presets._PRESETS, "distilbert_base_cased",  # the entry at a size the test can build
                        dataclasses.replace(presets.get("distilbert_base_cased"), config=tiny))
    encoder = kbz.load("distilbert_base_cased", weights=tmp_path / "hf")
    assert encoder_difference(encoder, theirs.distilbert, padded_batches()[1]) <= TOLERANCE
    assert kbz.load_tokenizer("distilbert_base_cased", weights=tmp_path / "hf")(["t5 t7"]).to_list() == [[5, 7]]


@pytest.mark.slow  # end to end: four exports
def test_a_distilbert_classifier_exports_to_every_format(tmp_path):
    """SavedModel (TF2 and TF1 session), TFLite and ONNX answer raw texts as the Keras model does."""
    encoder = DistilBertEncoder(len(TINY_VOCABULARY), 1, 2, 16, 24)
    model = kbz.BertClassifier(encoder, num_classes=2, label_names=["neg", "pos"],
                               preprocessor=tiny_preprocessor(segment_ids=False))
    check_export(model, ["a good movie", "not a bad film ."], tmp_path)
