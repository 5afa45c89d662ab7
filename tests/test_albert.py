"""The ALBERT family: `AlbertEncoder` and every Hugging Face Albert class load with `kbz.load` and compute what
transformers computes (tiny random models, perturbed weights, groups of shared blocks, right- and left-padded
batches), save back with `kbz.save_hf` to folders transformers loads with equal weights; its SentencePiece
tokenizer gives `AlbertTokenizer`'s ids on ALBERT's real pieces (shipped texts, fuzzing, the TFLite form);
sentence-order-prediction pairs; the presets."""

import json
import random

import numpy as np
import pytest
import tensorflow as tf
import torch
import transformers
from family_folders import albert_spiece_model, family_folder, sst2_sentences
from helpers import check_layer, check_task, hf_difference, padded_inputs, perturbed_hf_model, torch_inputs
from test_sentencepiece_tokenizer import shipped_texts

import keras_bert_zoo as kbz
from keras_bert_zoo import preset_weights, presets
from keras_bert_zoo.data import pretraining_dataset
from keras_bert_zoo.errors import CheckpointError, CheckpointMismatchError
from keras_bert_zoo.models.albert import AlbertEncoder
from keras_bert_zoo.models.albert.hf_config import config_from_hf
from keras_bert_zoo.text import BertPreprocessor
from keras_bert_zoo.text.sentencepiece import SentencePieceTokenizer

# Five layers over two groups of two blocks: depths 0-2 run group 0, depths 3-4 group 1 (int(i / 2.5)).
CONFIG = dict(vocab_size=99, embedding_size=16, hidden_size=32, num_hidden_layers=5, num_hidden_groups=2,
              inner_group_num=2, num_attention_heads=4, intermediate_size=37, max_position_embeddings=40)
TOLERANCE = 1e-5


def random_hf_albert(cls, seed=0, **config):
    """A transformers ALBERT `cls`, eager attention, every tensor moved off its init values."""
    return perturbed_hf_model(cls, transformers.AlbertConfig(**{**CONFIG, **config}, attn_implementation="eager"),
                              seed)


def padded_batches():
    """A right-padded batch and the same rows left-padded, with token types."""
    return [padded_inputs(vocabulary_size=CONFIG["vocab_size"], left=left) for left in (False, True)]


def pretraining_difference(ours, theirs, inputs):
    """Max abs difference of masked-LM logits (real tokens) and SOP logits from `AlbertForPreTraining`'s."""
    mask = inputs["padding_mask"].astype(bool)
    positions = np.tile(np.arange(mask.shape[1]), (len(mask), 1)).astype("int32")
    mine = ours({**inputs, "mask_positions": positions})
    with torch.no_grad():
        out = theirs(**torch_inputs(inputs))
    mlm = np.abs(np.asarray(mine["mlm_logits"]) - out.prediction_logits.numpy())[mask].max()
    return max(mlm, np.abs(np.asarray(mine["nsp_logits"]) - out.sop_logits.numpy()).max())


@pytest.mark.parametrize("groups, inner", [(1, 1), (2, 2)])
def test_encoder_shares_blocks_as_albert_model_and_saves_back(groups, inner, tmp_path):
    theirs = random_hf_albert(transformers.AlbertModel, num_hidden_groups=groups, inner_group_num=inner)
    theirs.save_pretrained(tmp_path / "hf")
    ours = kbz.load(tmp_path / "hf")
    assert type(ours) is AlbertEncoder
    assert (ours.num_layers, ours.num_groups, ours.inner_group_num) == (5, groups, inner)
    # Shared blocks counted once, as transformers stores them: the same number of weights.
    assert len(ours.transformer_layers) == groups * inner
    assert ours.count_params() == sum(p.numel() for p in theirs.parameters())
    for inputs in padded_batches():
        assert hf_difference(ours, theirs, inputs) <= TOLERANCE

    kbz.save_hf(ours, tmp_path / "back")
    config = json.loads((tmp_path / "back" / "config.json").read_text())
    assert config["architectures"] == ["AlbertModel"] and config["model_type"] == "albert"
    again = transformers.AlbertModel.from_pretrained(tmp_path / "back").eval()
    assert (again.config.num_hidden_groups, again.config.inner_group_num, again.config.embedding_size) == (
        groups, inner, 16)
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[key].numpy(), value.numpy(), err_msg=key)


LABELS = ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"]
CASES = {  # HF class -> (our class, extra config)
    "AlbertForPreTraining": (kbz.BertPretrainer, {}),
    "AlbertForMaskedLM": (kbz.BertPretrainer, {}),
    "AlbertForSequenceClassification": (kbz.BertClassifier, dict(id2label={0: "neg", 1: "neutral", 2: "pos"})),
    "AlbertForTokenClassification": (kbz.BertTokenClassifier, dict(id2label=dict(enumerate(LABELS)))),
    "AlbertForQuestionAnswering": (kbz.BertSpanQA, {}),
    "AlbertForMultipleChoice": (kbz.BertMultipleChoice, {}),
}


@pytest.mark.parametrize("name", CASES)
def test_albert_task_checkpoint_loads_as_its_class_and_saves_back(name, tmp_path):
    our_class, config = CASES[name]
    theirs = random_hf_albert(getattr(transformers, name), **config)
    theirs.save_pretrained(tmp_path / "hf")
    ours = kbz.load(tmp_path / "hf")
    assert type(ours) is our_class and type(ours.encoder) is AlbertEncoder
    difference = pretraining_difference if name == "AlbertForPreTraining" else hf_difference
    for inputs in padded_batches():
        assert difference(ours, theirs, inputs) <= TOLERANCE
    if "id2label" in config:
        assert ours.label_names == list(config["id2label"].values())
    if our_class is kbz.BertPretrainer:
        assert ours.next_sentence == (name == "AlbertForPreTraining")  # the SOP head sits where NSP's does

    kbz.save_hf(ours, tmp_path / "back")
    again = getattr(transformers, name).from_pretrained(tmp_path / "back").eval()
    assert again.config.architectures == [name] and again.config.id2label == theirs.config.id2label
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[key].numpy(), value.numpy(), err_msg=key)
    assert type(kbz.load(tmp_path / "back")) is our_class


def test_encoder_config_keras_file_and_mixed_precision():
    encoder = AlbertEncoder(vocabulary_size=50, num_layers=3, num_heads=2, hidden_dim=16, intermediate_dim=24,
                            embedding_dim=8, num_groups=2, max_sequence_length=12, dropout=0.1)
    ids = np.ones((2, 5), "int32")
    inputs = {"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": np.array([[1] * 5, [1, 1, 1, 0, 0]], "int32")}
    full = check_layer(encoder, inputs, {"sequence_output": (2, 5, 16), "pooled_output": (2, 16)})
    for policy, tolerance in (("mixed_float16", 0.05), ("mixed_bfloat16", 0.2)):
        half = AlbertEncoder.from_config({**encoder.get_config(), "dtype": policy})
        half.set_weights(encoder.get_weights())
        assert all(w.dtype == "float32" for w in half.weights)  # variables stay float32
        out = half(inputs)["sequence_output"]
        assert out.dtype == policy.split("_")[1]
        np.testing.assert_allclose(np.asarray(out, "float32"), np.asarray(full["sequence_output"]), atol=tolerance)
    assert check_task(kbz.BertClassifier(encoder, num_classes=3), inputs).shape == (2, 3)
    with pytest.raises(ValueError, match="num_groups=4 must be between 1 and num_layers=3"):
        AlbertEncoder(50, 3, 2, 16, 24, num_groups=4)


@pytest.mark.parametrize("change, message", [
    ({"embedding_size": None, "hidden_act": None}, None),  # transformers' defaults: 128 (as the weights?), gelu_new
    ({"num_hidden_groups": 3}, r"config\.json: does not match .*num_hidden_groups=3 but the weights hold 2"),
    ({"inner_group_num": 1}, r"config\.json: does not match .*inner_group_num=1 but the weights hold 2"),
    ({"embedding_size": 24}, r"config\.json: does not match .*embedding_size=24 but albert\.embeddings\."
                             r"word_embeddings\.weight says 16"),
    ({"num_hidden_groups": 6}, r"config\.json: num_hidden_groups=6 is more than num_hidden_layers=5"),
    ({"inner_group_num": 0}, r"config\.json: inner_group_num=0 is not a positive integer"),
])
def test_a_bad_config_is_named_with_its_file_and_key(tmp_path, change, message):
    random_hf_albert(transformers.AlbertModel).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    for key, value in change.items():
        config.pop(key) if value is None else config.__setitem__(key, value)
    (tmp_path / "config.json").write_text(json.dumps(config))
    if message is None:  # without embedding_size the default (128) meets the weights' 16
        with pytest.raises(CheckpointMismatchError, match="wrong shape: albert.embeddings.word_embeddings.weight"):
            kbz.load(tmp_path)
        assert config_from_hf(config, "config.json")["activation"] == "gelu_approximate"
        return
    with pytest.raises(CheckpointError, match=message) as error:
        kbz.load(tmp_path)
    assert isinstance(error.value, CheckpointMismatchError) == ("does not match" in message)


def test_convert_cli_takes_an_albert_classifier_through_keras_and_back(tmp_path, capsys):
    from keras_bert_zoo.cli import main

    theirs = random_hf_albert(transformers.AlbertForSequenceClassification, id2label={0: "neg", 1: "pos"})
    theirs.save_pretrained(tmp_path / "hf")
    assert main(["convert", str(tmp_path / "hf"), str(tmp_path / "m.keras"), "--to", "keras"]) == 0
    assert main(["convert", str(tmp_path / "m.keras"), str(tmp_path / "back"), "--to", "hf"]) == 0
    assert "wrote BertClassifier" in capsys.readouterr().out
    again = transformers.AlbertForSequenceClassification.from_pretrained(tmp_path / "back")
    assert again.config.id2label == {0: "neg", 1: "pos"}
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[key].numpy(), value.numpy(), err_msg=key)


# === Tokenizer: ALBERT's real pieces (tests/data/albert) under AlbertTokenizer's normalization ===


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory):
    """(ours, transformers' AlbertTokenizer) on one spiece.model, from a folder as `kbz.load_tokenizer` reads it."""
    folder = family_folder(tmp_path_factory.mktemp("albert"), "albert", "Model")
    return kbz.load_tokenizer(folder), transformers.AlbertTokenizer.from_pretrained(str(folder))


def mismatches(ours, hf, texts):
    ids = ours(tf.constant(texts)).to_list()
    return [(text, got) for text, got in zip(texts, ids) if got != hf(text, add_special_tokens=False).input_ids]


def test_tokenizer_ids_equal_albert_tokenizer_on_shipped_texts(tokenizers):
    ours, hf = tokenizers
    assert (ours.lowercase, ours.strip_accents, ours.replace_quotes, ours.layout) == (True, True, True, "plain")
    assert [ours.pad_id, ours.unk_id, ours.cls_id, ours.sep_id, ours.mask_id] == [0, 1, 2, 3, 4]
    texts = shipped_texts() + ["``Quoted'' CAFÉ Naïve RÉSUMÉ", "ΣΑΣ İstanbul ﬁne ½ Ａｂ"]
    # One known difference: in this line "eee" has two splits of equal score (the same three pieces);
    # tensorflow-text's kernel takes "ee e", transformers "e ee" (as both do for "eee" alone).
    [(text, got)] = mismatches(ours, hf, texts)
    assert text == "the aaa of action , xxx is a blast of adrenalin , rated eee for excitement . "
    expected = hf.tokenize(text)
    assert expected[19:22] == ["▁", "e", "ee"] and [ours.id_to_token(i) for i in got] == [
        *expected[:20], "ee", "e", *expected[22:]]
    flat = [i for row in ours(texts).to_list() for i in row]
    assert len(texts) > 15_000 and len(flat) > 200_000 and flat.count(ours.unk_id) < 0.01 * len(flat)
    assert ours(["``Hi'' CAFÉ"]).to_list() == [hf('"hi" cafe', add_special_tokens=False).input_ids]


def test_tokenizer_fuzzed_texts_and_its_tflite_form_equal_albert_tokenizer(tokenizers):
    ours, hf = tokenizers
    rng = random.Random(0)
    alphabet = [chr(c) for c in [*range(32, 0x250), *range(0x370, 0x400), *range(0x1E00, 0x1F00),
                                 *range(0x2000, 0x2070), *range(0xFF00, 0xFF60), 0x300, 0x301, 0x308, 0x327]]
    alphabet = [c for c in alphabet if c != "\x85"] + ["`", "'", " ", "  "] * 8
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(2000)]
    assert mismatches(ours, hf, texts) == []
    # The TFLite form runs the same folded normalization (U+0085 and invalid UTF-8 aside: see its docstring).
    lite = ours.for_tflite()
    assert lite(tf.constant(texts)).to_list() == ours(tf.constant(texts)).to_list()


# === Sentence-order prediction ===


def test_sentence_order_pairs_are_consecutive_segments_in_or_out_of_order():
    tokenizer = SentencePieceTokenizer(albert_spiece_model(), layout="plain")
    preprocessor = BertPreprocessor(tokenizer, sequence_length=128)
    # Documents of numbered sentences ("a0 ... ") short enough never to be truncated.
    documents = [[f"doc{d} s{s} ." for s in range(4)] for d in range(30)]
    batch = next(iter(pretraining_dataset(documents, preprocessor, 64, pair_task="sop", as_features=True)))
    labels = batch["next_sentence_label"].numpy()
    assert 10 < labels.sum() < len(labels) - 10  # about half swapped
    token_ids = batch["token_ids"].numpy()
    for row, positions, ids, weights in zip(token_ids, *(batch[k].numpy() for k in ("mask_positions", "mask_ids",
                                                                                     "mask_weights"))):
        row[positions[weights > 0]] = ids[weights > 0]  # the text before masking
    for ids, segments, mask, label in zip(token_ids, batch["segment_ids"].numpy(), batch["padding_mask"].numpy(),
                                          labels):
        a, b = (tokenizer.detokenize(ids[(segments == s) & (mask == 1)][1 if s == 0 else 0:-1]).numpy().decode()
                for s in (0, 1))
        first, second = (b, a) if label else (a, b)  # a negative is the positive's two segments swapped
        sentences = (first + " " + second).replace(" .", " .|").split("|")
        numbers = [(s.split()[0], int(s.split()[1][1:])) for s in sentences if s.strip()]
        assert len({d for d, _ in numbers}) == 1, (a, b)  # one document
        assert [n for _, n in numbers] == list(range(numbers[0][1], numbers[0][1] + len(numbers))), (a, b, label)
    with pytest.raises(ValueError, match="pair_task must be one of"):
        pretraining_dataset(documents, preprocessor, 8, pair_task="random")


# === Presets ===


@pytest.mark.parametrize("name, public", [
    ("albert_base_v2", dict(hidden_size=768, num_attention_heads=12, intermediate_size=3072)),
    ("albert_large_v2", dict(hidden_size=1024, num_attention_heads=16, intermediate_size=4096,
                             num_hidden_layers=24)),
    ("albert_xlarge_v2", dict(hidden_size=2048, num_attention_heads=16, intermediate_size=8192,
                              num_hidden_layers=24)),
    ("albert_xxlarge_v2", {}),  # AlbertConfig's defaults are albert-xxlarge-v2's
])
def test_presets_are_the_public_architectures_and_name_their_weights(name, public):
    preset = presets.get(name)
    config = transformers.AlbertConfig(**public, hidden_dropout_prob=0, attention_probs_dropout_prob=0).to_dict()
    assert preset.model_type == "albert" and preset.lowercase
    assert preset.config == {**config_from_hf(config, "config.json"), "dropout": 0.0}
    with pytest.raises(preset_weights.MissingWeightsError, match=f"albert/{name.replace('_', '-')}"):
        kbz.load(name)
    if name == "albert_base_v2":  # 12M weights: quick to build
        assert type(kbz.load(name, weights=None)) is AlbertEncoder


def test_sst2_sentences_tokenize_the_same_after_a_keras_round_trip(tokenizers, tmp_path):
    import keras

    ours, _ = tokenizers
    keras.saving.save_model(ours, tmp_path / "tokenizer.keras")
    restored = keras.saving.load_model(tmp_path / "tokenizer.keras")
    assert (restored.lowercase, restored.strip_accents, restored.replace_quotes) == (True, True, True)
    texts = sst2_sentences("dev", 50) + ["``Quoted'' CAFÉ"]
    assert restored(texts).to_list() == ours(texts).to_list()


def test_a_preset_loads_the_weights_folder_a_user_names_and_refuses_another_architecture(tmp_path, monkeypatch):
    import dataclasses

    theirs = random_hf_albert(transformers.AlbertModel, vocab_size=30000)
    theirs.save_pretrained(tmp_path / "hf")
    (tmp_path / "hf" / "spiece.model").write_bytes(albert_spiece_model())
    with pytest.raises(preset_weights.PresetWeightsError,
                       match="does not hold preset 'albert_base_v2': num_layers=5 .the preset has 12."):
        kbz.load("albert_base_v2", weights=tmp_path / "hf")
    tiny = config_from_hf(theirs.config.to_dict(), "config.json")
    monkeypatch.setitem(presets._PRESETS, "albert_base_v2",  # the entry at a size the test can build
                        dataclasses.replace(presets.get("albert_base_v2"), config=tiny))
    encoder = kbz.load("albert_base_v2", weights=tmp_path / "hf")
    inputs = padded_inputs(vocabulary_size=30000, left=True)
    assert hf_difference(encoder, theirs, inputs) <= TOLERANCE
    tokenizer = kbz.load_tokenizer("albert_base_v2", weights=tmp_path / "hf")
    assert [tokenizer.id_to_token(i) for i in tokenizer("``Hello'' World").numpy()] == [
        "▁", '"', "hello", '"', "▁world"]
