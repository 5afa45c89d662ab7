"""RoBERTa and XLM-RoBERTa: every Hugging Face class loads with `kbz.load` as the model it is, equals
transformers on right- and left-padded batches, and saves back with `kbz.save_hf` to a folder transformers
loads with the same tensors (tiny random models, perturbed weights, eager attention)."""

import json

import numpy as np
import pytest
import transformers
from helpers import check_layer, check_task, hf_difference, padded_inputs, perturbed_hf_model

import keras_bert_zoo as kbz
from keras_bert_zoo.errors import CheckpointError
from keras_bert_zoo.models import families
from keras_bert_zoo.models.roberta import RobertaEncoder, XLMRobertaEncoder

CONFIG = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
              max_position_embeddings=42, type_vocab_size=1, layer_norm_eps=1e-5, attn_implementation="eager")
TOLERANCE = 1e-5
MEMBERS = {  # model_type -> (HF class prefix, config class, our backbone)
    "roberta": ("Roberta", transformers.RobertaConfig, RobertaEncoder),
    "xlm-roberta": ("XLMRoberta", transformers.XLMRobertaConfig, XLMRobertaEncoder),
}
CLASSES = {  # HF class suffix -> (our class, extra config)
    "Model": (None, {}),
    "ForMaskedLM": (kbz.BertPretrainer, {}),
    "ForSequenceClassification": (kbz.BertClassifier, dict(id2label={0: "negative", 1: "neutral", 2: "positive"})),
    "ForTokenClassification": (kbz.BertTokenClassifier, dict(id2label=dict(enumerate(["B-PER", "I-PER", "O"])))),
    "ForQuestionAnswering": (kbz.BertSpanQA, {}),
    "ForMultipleChoice": (kbz.BertMultipleChoice, {}),
}


def hf_model(model_type, suffix, seed=0, **config):
    prefix, config_class, _ = MEMBERS[model_type]
    return perturbed_hf_model(getattr(transformers, prefix + suffix), config_class(**{**CONFIG, **config}), seed)


def inputs(left=False, seed=0):
    return padded_inputs(batch=3, seq=9, vocabulary_size=99, pad_id=1, segments=False, left=left, seed=seed)


@pytest.mark.parametrize("suffix", CLASSES)
@pytest.mark.parametrize("model_type", MEMBERS)
def test_hf_checkpoint_loads_as_its_class_equals_transformers_and_saves_back(model_type, suffix, tmp_path):
    prefix, _, backbone = MEMBERS[model_type]
    our_class, config = CLASSES[suffix]
    theirs = hf_model(model_type, suffix, **config)
    theirs.save_pretrained(tmp_path / "hf")
    ours = kbz.load(tmp_path / "hf")
    assert type(ours) is (our_class or backbone)
    assert type(families.of_model(ours).backbone_of(ours)) is backbone
    for left in (False, True):
        assert hf_difference(ours, theirs, inputs(left)) <= TOLERANCE, f"left-padded={left}"
    if "id2label" in config:
        assert ours.label_names == list(config["id2label"].values())

    kbz.save_hf(ours, tmp_path / "back")
    saved = json.loads((tmp_path / "back" / "config.json").read_text())
    assert (saved["model_type"], saved["architectures"]) == (model_type, [prefix + suffix])
    again = getattr(transformers, prefix + suffix).from_pretrained(tmp_path / "back", attn_implementation="eager")
    assert again.config.id2label == theirs.config.id2label
    assert again.config.max_position_embeddings == 42 and again.config.layer_norm_eps == 1e-5
    mine, reference = again.state_dict(), theirs.state_dict()
    assert sorted(mine) == sorted(reference)
    for key, value in reference.items():
        np.testing.assert_array_equal(mine[key].numpy(), value.numpy(), err_msg=key)


def test_classifier_head_is_robertas_and_positions_follow_the_padding_mask():
    encoder = RobertaEncoder(99, 1, 2, 16, 32, max_sequence_length=12)
    classifier = kbz.BertClassifier(encoder, num_classes=2)
    assert classifier.head == "dense_tanh" and kbz.BertMultipleChoice(encoder, None).head == "pooled"
    right, left = inputs(), inputs(left=True)
    out_right = np.asarray(encoder(right)["sequence_output"])[right["padding_mask"] == 1]
    out_left = np.asarray(encoder(left)["sequence_output"])[left["padding_mask"] == 1]
    np.testing.assert_allclose(out_left, out_right, atol=1e-5)  # the same tokens, wherever the padding is
    assert encoder.position_embedding.input_dim == 12 + 1 + 1  # max_sequence_length + pad_id + 1


@pytest.mark.parametrize("backbone", [RobertaEncoder, XLMRobertaEncoder])
def test_backbone_and_classifier_keep_the_task_contract(backbone):
    """Config and .keras round trips (the exact class comes back), float32 logits under mixed precision."""
    encoder = backbone(99, 2, 2, 16, 32, max_sequence_length=12)
    check_layer(encoder, inputs(), {"sequence_output": (3, 9, 16), "pooled_output": (3, 16)})
    check_task(kbz.BertClassifier(encoder, num_classes=3), inputs())


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_computes_in_half_precision_close_to_float32(policy):
    full = RobertaEncoder(99, 2, 2, 16, 32, max_sequence_length=12)
    half = RobertaEncoder(99, 2, 2, 16, 32, max_sequence_length=12, dtype=policy)
    half.set_weights(full.get_weights())
    out = half(inputs())["sequence_output"]
    assert out.dtype == policy.split("_")[1] and all(w.dtype == "float32" for w in half.weights)
    np.testing.assert_allclose(np.asarray(out, "float32"), full(inputs())["sequence_output"],
                               atol=0.05 if policy == "mixed_float16" else 0.2)


def test_a_task_folder_gives_its_encoder_alone_and_bad_configs_name_file_and_key(tmp_path, caplog):
    theirs = hf_model("roberta", "ForSequenceClassification")  # no pooler in the file
    theirs.save_pretrained(tmp_path / "hf")
    encoder = kbz.load(tmp_path / "hf", model_class="backbone")
    assert type(encoder) is RobertaEncoder and "no [CLS] pooler" in caplog.text
    file = tmp_path / "hf" / "config.json"
    good = json.loads(file.read_text())
    for change, message in [
        (dict(type_vocab_size=2), r"config\.json: type_vocab_size=2; a RoBERTa checkpoint has one token type"),
        (dict(position_embedding_type="relative_key"), r"position_embedding_type='relative_key' is not supported"),
        (dict(max_position_embeddings=2), r"max_position_embeddings=2 leaves no position after pad_token_id=1"),
        (dict(max_position_embeddings=50), r"max_position_embeddings=50 but roberta\.embeddings\.position_embeddings"),
    ]:
        file.write_text(json.dumps({**good, **change}))
        with pytest.raises(CheckpointError, match=message):
            kbz.load(tmp_path / "hf")


def test_masked_lm_head_is_tied_with_exact_gelu_and_roberta_has_no_next_sentence_checkpoint(tmp_path):
    theirs = hf_model("xlm-roberta", "ForMaskedLM", hidden_act="gelu_new")  # RobertaLMHead's GELU stays exact
    theirs.save_pretrained(tmp_path / "hf")
    ours = kbz.load(tmp_path / "hf")
    assert hf_difference(ours, theirs, inputs()) <= TOLERANCE
    assert ours.next_sentence is False and set(ours.output) == {"mlm_logits"}
    assert ours.mlm_head.token_embedding is ours.encoder.token_embedding
    with pytest.raises(TypeError, match=r"XLMRobertaForMaskedLM is a BertPretrainer with \{'next_sentence': False\}; "
                                        r"this one has \{'next_sentence': True\}"):
        kbz.save_hf(kbz.BertPretrainer(ours.encoder, next_sentence=True), tmp_path / "nsp")


def test_cli_converts_a_roberta_folder_and_refuses_google_format(tmp_path, capsys):
    from keras_bert_zoo.cli import main

    theirs = hf_model("roberta", "ForTokenClassification", id2label=dict(enumerate(["O", "B-X"])))
    theirs.save_pretrained(tmp_path / "hf")
    assert main(["convert", str(tmp_path / "hf"), str(tmp_path / "m.keras"), "--to", "keras"]) == 0
    assert main(["convert", str(tmp_path / "m.keras"), str(tmp_path / "back"), "--to", "hf"]) == 0
    again = transformers.RobertaForTokenClassification.from_pretrained(tmp_path / "back", attn_implementation="eager")
    assert hf_difference(kbz.load(tmp_path / "m.keras"), again, inputs(left=True)) <= TOLERANCE
    assert again.config.id2label == {0: "O", 1: "B-X"}
    with pytest.raises(SystemExit, match="A Google checkpoint holds BERT models only; this model is 'roberta'"):
        main(["convert", str(tmp_path / "hf"), str(tmp_path / "google"), "--to", "google"])


def test_old_checkpoints_with_buffers_and_a_stored_decoder_load_and_an_untied_decoder_is_named(tmp_path):
    from safetensors.numpy import load_file, save_file

    theirs = hf_model("roberta", "ForMaskedLM")
    theirs.save_pretrained(tmp_path / "hf")
    file = tmp_path / "hf" / "model.safetensors"
    state = load_file(file)  # what older files (e.g. roberta-base's) also hold
    state["roberta.embeddings.position_ids"] = np.arange(42)[None].astype("int64")
    state["lm_head.decoder.weight"] = state["roberta.embeddings.word_embeddings.weight"]
    state["lm_head.decoder.bias"] = state["lm_head.bias"]
    save_file(state, file, metadata={"format": "pt"})
    assert hf_difference(kbz.load(tmp_path / "hf"), theirs, inputs()) <= TOLERANCE
    state["lm_head.decoder.weight"] = state["lm_head.decoder.weight"] + 1
    save_file(state, file, metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match="lm_head.decoder.weight differs from roberta.embeddings.word_embeddings"):
        kbz.load(tmp_path / "hf")
