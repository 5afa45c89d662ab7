"""The DeBERTa-v3 family (model_type "deberta-v2"): `DebertaV3Encoder` and every Hugging Face DebertaV2 class
load with `kbz.load` and compute what transformers computes (tiny random models, perturbed weights, eager
attention, sequences longer than the position buckets, right- and left-padded batches), and save back with
`kbz.save_hf` to folders transformers loads with the same tensors."""

import json

import numpy as np
import pytest
import torch
import transformers
from helpers import check_layer, check_task, hf_difference, padded_inputs, perturbed_hf_model, torch_inputs

import keras_bert_zoo as kbz
from keras_bert_zoo import preset_weights, presets
from keras_bert_zoo.errors import CheckpointError, CheckpointMismatchError
from keras_bert_zoo.models.deberta import DebertaV3Encoder
from keras_bert_zoo.models.deberta.attention import relative_position_buckets
from keras_bert_zoo.models.deberta.hf_config import config_from_hf

# DeBERTa-v3's shape of config at a tiny size: 8 log buckets over distances up to 64, so that a sequence of 40
# has exact, bucketed and clipped distances.
CONFIG = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
              max_position_embeddings=64, relative_attention=True, position_buckets=8, pos_att_type="p2c|c2p",
              share_att_key=True, norm_rel_ebd="layer_norm", position_biased_input=False, type_vocab_size=0,
              layer_norm_eps=1e-7)
# DeBERTa-v2's options: own position projections, absolute positions, token types, a narrower embedding.
V2_OPTIONS = dict(share_att_key=False, position_biased_input=True, type_vocab_size=2, embedding_size=24,
                  position_buckets=-1, max_relative_positions=16, norm_rel_ebd="none")
TOLERANCE = 1e-5
LABELS = ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"]
CLASSES = {  # HF class -> (our class, extra config)
    "DebertaV2ForMaskedLM": (kbz.BertPretrainer, {}),
    "DebertaV2ForSequenceClassification": (kbz.BertClassifier, dict(id2label={0: "neg", 1: "neutral", 2: "pos"})),
    "DebertaV2ForTokenClassification": (kbz.BertTokenClassifier, dict(id2label=dict(enumerate(LABELS)))),
    "DebertaV2ForQuestionAnswering": (kbz.BertSpanQA, {}),
    "DebertaV2ForMultipleChoice": (kbz.BertMultipleChoice, {}),
}


def random_hf_deberta(cls, seed=0, **config):
    """A transformers DeBERTa-v2 `cls` (a class or its name), eager attention, every tensor moved off its init."""
    cls = getattr(transformers, cls) if isinstance(cls, str) else cls
    return perturbed_hf_model(cls, transformers.DebertaV2Config(**{**CONFIG, **config}, attn_implementation="eager"),
                              seed)


def padded_batches(seq=40, segments=False):
    """A right-padded batch and the same rows left-padded, longer than the position buckets."""
    return [padded_inputs(seq=seq, vocabulary_size=CONFIG["vocab_size"], segments=segments, left=left)
            for left in (False, True)]


def encoder_difference(ours, theirs, inputs):
    """Max abs difference of `sequence_output` and transformers' `last_hidden_state`, padding included."""
    with torch.no_grad():
        reference = theirs(**torch_inputs(inputs)).last_hidden_state.numpy()
    return np.abs(np.asarray(ours(inputs)["sequence_output"]) - reference).max()


def same_tensors(folder, theirs):
    again = type(theirs).from_pretrained(folder, attn_implementation="eager").eval()
    mine, reference = again.state_dict(), theirs.state_dict()
    assert sorted(mine) == sorted(reference)
    for key, value in reference.items():
        np.testing.assert_array_equal(mine[key].numpy(), value.numpy(), err_msg=key)
    return again


@pytest.mark.parametrize("options", [{}, V2_OPTIONS, dict(pos_att_type=["c2p"], share_att_key=False)],
                         ids=["v3", "v2-options", "c2p-only"])
def test_encoder_matches_deberta_v2_model_and_saves_back(options, tmp_path):
    theirs = random_hf_deberta(transformers.DebertaV2Model, **options)
    theirs.save_pretrained(tmp_path / "hf")
    ours = kbz.load(tmp_path / "hf")
    assert type(ours) is DebertaV3Encoder
    assert ("segment_ids" in ours.input) == bool(options.get("type_vocab_size"))
    for inputs in padded_batches(segments="segment_ids" in ours.input):
        assert encoder_difference(ours, theirs, inputs) <= TOLERANCE

    kbz.save_hf(ours, tmp_path / "back")
    config = json.loads((tmp_path / "back" / "config.json").read_text())
    assert config["architectures"] == ["DebertaV2Model"] and config["model_type"] == "deberta-v2"
    again = same_tensors(tmp_path / "back", theirs)
    for key in ("position_buckets", "share_att_key", "position_biased_input", "norm_rel_ebd"):
        assert getattr(again.config, key, None) == getattr(theirs.config, key, None), key
    assert sorted(again.config.pos_att_type) == sorted(theirs.config.pos_att_type)


@pytest.mark.parametrize("name", CLASSES)
def test_task_checkpoint_loads_as_its_class_equals_transformers_and_saves_back(name, tmp_path):
    our_class, config = CLASSES[name]
    theirs = random_hf_deberta(name, **config)
    theirs.save_pretrained(tmp_path / "hf")
    ours = kbz.load(tmp_path / "hf")
    assert type(ours) is our_class and type(ours.encoder) is DebertaV3Encoder
    assert "segment_ids" not in ours.input
    for inputs in padded_batches():
        assert hf_difference(ours, theirs, inputs) <= TOLERANCE
    if "id2label" in config:
        assert ours.label_names == list(config["id2label"].values())
    if name.endswith(("SequenceClassification", "MultipleChoice")):
        assert ours.head == "dense_gelu"

    kbz.save_hf(ours, tmp_path / "back")
    again = same_tensors(tmp_path / "back", theirs)
    assert again.config.architectures == [name] and again.config.id2label == theirs.config.id2label
    assert type(kbz.load(tmp_path / "back")) is our_class


def test_relative_positions_are_transformers_log_buckets():
    from transformers.models.deberta_v2.modeling_deberta_v2 import make_log_bucket_position

    for length, buckets, reach in ((40, 8, 64), (300, 256, 512), (600, 256, 512), (20, 0, 16)):
        distance = torch.arange(length)[:, None] - torch.arange(length)[None, :]
        span = buckets if buckets > 0 else reach
        expected = make_log_bucket_position(distance, buckets, reach) if buckets > 0 else distance
        expected = torch.clamp(expected.long() + span, 0, 2 * span - 1).numpy()
        np.testing.assert_array_equal(np.asarray(relative_position_buckets(length, buckets, reach)), expected)


def test_masked_lm_of_the_non_legacy_head_loads_into_the_same_head(tmp_path):
    """transformers' legacy=False head (lm_predictions.lm_head.*) computes what the legacy layout does."""
    theirs = random_hf_deberta(transformers.DebertaV2ForMaskedLM, legacy=False)
    theirs.save_pretrained(tmp_path / "hf")
    ours = kbz.load(tmp_path / "hf")
    assert type(ours) is kbz.BertPretrainer and ours.next_sentence is False
    assert hf_difference(ours, theirs, padded_batches()[1]) <= TOLERANCE


def test_encoder_config_keras_file_mixed_precision_and_heads():
    encoder = DebertaV3Encoder(vocabulary_size=50, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=24,
                               max_sequence_length=32, position_buckets=4)
    inputs = {"token_ids": np.arange(2, 22).reshape(2, 10).astype("int32"),
              "padding_mask": np.array([[1] * 10, [1] * 6 + [0] * 4], "int32")}
    full = check_layer(encoder, inputs, {"sequence_output": (2, 10, 16)})["sequence_output"]
    for policy, tolerance in (("mixed_float16", 0.05), ("mixed_bfloat16", 0.2)):
        half = DebertaV3Encoder.from_config({**encoder.get_config(), "dtype": policy})
        half.set_weights(encoder.get_weights())
        assert all(w.dtype == "float32" for w in half.weights)
        out = half(inputs)["sequence_output"]
        assert out.dtype == policy.split("_")[1]
        np.testing.assert_allclose(np.asarray(out, "float32"), np.asarray(full), atol=tolerance)
    assert check_task(kbz.BertClassifier(encoder, num_classes=3), inputs).shape == (2, 3)
    choices = {key: np.stack([value, value[::-1]], axis=1) for key, value in inputs.items()}
    assert check_task(kbz.BertMultipleChoice(encoder, num_choices=None), choices).shape == (2, 2)
    with pytest.raises(ValueError, match="next_sentence=True needs a pooled_output; DebertaV3Encoder has none"):
        kbz.BertPretrainer(encoder)


@pytest.mark.parametrize("change, message", [
    ({"hidden_size": None}, r"config\.json: lacks hidden_size; it is not a DeBERTa-v2/v3 config"),
    ({"pos_att_type": "p2c|p2p"}, r"config\.json: pos_att_type='p2c\|p2p' is not made of c2p and p2c"),
    ({"conv_kernel_size": 3}, r"config\.json: conv_kernel_size=3: DeBERTa-v2's convolution layer is not supported"),
    ({"share_att_key": "yes"}, r"config\.json: share_att_key='yes' is not true or false"),
    ({"position_buckets": 16}, r"config\.json: does not match .*2 \* position_buckets=32 but "
                               r"deberta\.encoder\.rel_embeddings\.weight says 16"),
    ({"num_hidden_layers": 3}, r"config\.json: does not match .*num_hidden_layers=3 but the weights hold 2 layers"),
])
def test_a_bad_config_is_named_with_its_file_and_key(tmp_path, change, message):
    random_hf_deberta(transformers.DebertaV2Model).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    for key, value in change.items():
        config.pop(key) if value is None else config.__setitem__(key, value)
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=message) as error:
        kbz.load(tmp_path)
    assert isinstance(error.value, CheckpointMismatchError) == ("does not match" in message)


def test_task_checkpoint_gives_its_encoder_alone_and_convert_goes_through_keras(tmp_path, capsys):
    from keras_bert_zoo.cli import main

    theirs = random_hf_deberta(transformers.DebertaV2ForSequenceClassification, id2label={0: "neg", 1: "pos"})
    theirs.save_pretrained(tmp_path / "hf")
    encoder = kbz.load(tmp_path / "hf", model_class="backbone")
    assert encoder_difference(encoder, theirs.deberta, padded_batches()[1]) <= TOLERANCE
    assert main(["convert", str(tmp_path / "hf"), str(tmp_path / "m.keras"), "--to", "keras"]) == 0
    assert main(["convert", str(tmp_path / "m.keras"), str(tmp_path / "back"), "--to", "hf"]) == 0
    assert "wrote BertClassifier" in capsys.readouterr().out
    assert same_tensors(tmp_path / "back", theirs).config.id2label == {0: "neg", 1: "pos"}


@pytest.mark.parametrize("name, layers, hidden, heads", [
    ("deberta_v3_xsmall", 12, 384, 6), ("deberta_v3_small", 6, 768, 12), ("deberta_v3_base", 12, 768, 12),
    ("deberta_v3_large", 24, 1024, 16)])
def test_presets_are_the_public_architectures_and_name_their_weights(name, layers, hidden, heads):
    preset = presets.get(name)
    assert preset.model_type == "deberta-v2"
    public = dict(vocab_size=128100, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                  intermediate_size=4 * hidden, max_position_embeddings=512, relative_attention=True,
                  position_buckets=256, pos_att_type="p2c|c2p", share_att_key=True, norm_rel_ebd="layer_norm",
                  position_biased_input=False, type_vocab_size=0, layer_norm_eps=1e-7, hidden_act="gelu")
    assert preset.config == config_from_hf(public, "config.json")
    with pytest.raises(preset_weights.MissingWeightsError, match=f"microsoft/{name.replace('_', '-')}"):
        kbz.load(name)


def test_tokenizer_ids_equal_the_fast_tokenizer_transformers_converts_from_spm_model(tmp_path):
    """DeBERTa-v3's spm.model in the "plain" layout with [MASK] after its pieces gives the ids of the Rust
    tokenizer transformers' DebertaV2Converter builds from it (the .model's own normalizer, as sentencepiece
    itself), on SST-2 sentences and fuzzed strings of characters its NFKC normalization changes."""
    import random
    import types

    from family_folders import DEBERTA_SPECIALS, _sentencepiece_model, sst2_sentences
    from transformers.convert_slow_tokenizer import DebertaV2Converter

    (tmp_path / "spm.model").write_bytes(_sentencepiece_model(**DEBERTA_SPECIALS))
    original = types.SimpleNamespace(vocab_file=str(tmp_path / "spm.model"), do_lower_case=False, split_by_punct=False,
                                     convert_tokens_to_ids={"[CLS]": 1, "[SEP]": 2}.get)
    reference = DebertaV2Converter(original).converted()
    ours = kbz.SentencePieceTokenizer(tmp_path / "spm.model", layout="plain", extra_tokens=["[MASK]"],
                                      normalization="model")
    assert [ours.pad_id, ours.cls_id, ours.sep_id, ours.unk_id, ours.mask_id] == [0, 1, 2, 3, 1000]
    rng = random.Random(0)
    alphabet = [*"abcdeé ﬁ½ＡＢ\u3000\t\n  .,!?-'\"0123456789", "🙃", "ß", "İ", "\xa0"]
    texts = sst2_sentences("dev", 100) + ["".join(rng.choices(alphabet, k=rng.randint(0, 30))) for _ in range(400)]
    expected = [encoding.ids for encoding in reference.encode_batch(texts, add_special_tokens=False)]
    assert ours(texts).to_list() == expected


def test_tokenizer_of_a_folder_equals_transformers_5s_deberta_v2_tokenizer(tmp_path):
    """transformers 5's DebertaV2Tokenizer normalizes by its own rules (whitespace runs and tabs/newlines to one
    space, trailing whitespace dropped, NFC), not the .model's table: `kbz.load_tokenizer` of the folder does the
    same. The one difference: combining marks NFC would reorder (the table matches them as they come)."""
    import random
    import unicodedata

    from family_folders import family_folder, hf_tokenizer, sst2_sentences

    from keras_bert_zoo.text.charsmap import apply_charsmap, nfc_charsmap, read_charsmap

    folder = family_folder(tmp_path, "deberta-v2")
    ours, theirs = kbz.load_tokenizer(folder), hf_tokenizer(folder)
    assert ours.normalization == "nfc"
    rng = random.Random(0)
    alphabet = [*"abcdeé ﬁ½ＡＢ\u3000\t\n\r  .,!?-'\"0123456789", "🙃", "ß", "İ", "\xa0", "\x85", "e\u0301",
                "\u212b", "\u0301", "\u0323", "\u1100\u1161", "A\u030a\u0301"]
    texts = sst2_sentences("dev", 100) + ["".join(rng.choices(alphabet, k=rng.randint(0, 30))) for _ in range(800)]
    texts += [" lead", "  lead", "\xa0lead", "trail \xa0", "a\xa0\xa0b", "a\xa0b", "", " ", "\t"]
    expected = theirs(texts, add_special_tokens=False).input_ids
    table = read_charsmap(nfc_charsmap())

    def reordered(text):  # NFC moves a mark: the table, matching strings as they come, composes otherwise
        return unicodedata.normalize("NFC", text) != apply_charsmap(table, text).decode()

    got = ours(texts).to_list()
    differing = [text for text, a, b in zip(texts, got, expected) if a != b]
    assert all(map(reordered, differing)) and len(differing) < 0.03 * len(texts)
    assert sum(map(reordered, texts)) > len(differing)  # most reorderings still give the same pieces
    # Its TFLite form: the same, but for runs of whitespace other than spaces, tabs and newlines, and trailing ones.
    lite = ours.for_tflite()
    plain = [text for text in texts if not reordered(text) and not any(c in text for c in "\xa0\u3000\x85")]
    assert len(plain) > 150 and lite(plain).to_list() == theirs(plain, add_special_tokens=False).input_ids
    assert lite(["a\xa0\xa0b"]).to_list() != [theirs("a\xa0\xa0b", add_special_tokens=False).input_ids]
