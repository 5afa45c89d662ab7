"""Every family from raw text: `kbz.load_preprocessor(folder)` packs as transformers' tokenizer of the same
folder does, and the loaded classifier on our inputs gives transformers' logits on theirs."""

import numpy as np
import pytest
import torch
from family_folders import FAMILIES, family_folder, hf_tokenizer, sst2_sentences

import keras_bert_zoo as kbz

LENGTH = 24  # short enough that many rows and pairs are truncated


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    return {family: family_folder(root, family) for family in FAMILIES}


@pytest.fixture(scope="module")
def texts():
    sentences = sst2_sentences("dev", 64)
    return sentences, sentences[32:] + sentences[:32]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("pair", [False, True])
def test_preprocessor_packs_as_hf(family, pair, folders, texts):
    ours = kbz.load_preprocessor(folders[family], sequence_length=LENGTH, truncate="longest_first")
    theirs = hf_tokenizer(folders[family])
    a, b = texts
    has_types = family in ("bert", "electra", "albert")
    got = ours((a, b) if pair else a)
    expected = theirs(*((a, b) if pair else (a,)), truncation="longest_first", max_length=LENGTH,
                      padding="max_length", return_token_type_ids=has_types)  # AlbertTokenizer's are not default
    assert got["token_ids"].numpy().tolist() == expected["input_ids"]
    assert got["padding_mask"].numpy().tolist() == expected["attention_mask"]
    assert ("segment_ids" in got) == has_types
    if has_types:
        assert got["segment_ids"].numpy().tolist() == expected["token_type_ids"]


@pytest.mark.parametrize("family", FAMILIES)
def test_classifier_from_text_equals_transformers(family, folders, texts):
    import transformers

    folder = folders[family]
    model = kbz.load(folder)
    preprocessor = kbz.load_preprocessor(folder, sequence_length=LENGTH)
    ours = model(preprocessor(texts[0]), training=False).numpy()
    reference = transformers.AutoModelForSequenceClassification.from_pretrained(
        str(folder), attn_implementation="eager").eval()
    encoded = hf_tokenizer(folder)(texts[0], truncation=True, max_length=LENGTH, padding="max_length",
                                   return_tensors="pt")
    with torch.no_grad():
        theirs = reference(**encoded).logits.numpy()
    assert np.abs(ours - theirs).max() < 1e-5
    config = reference.config  # the head's dropout for fine-tuning, as transformers reads it
    rate = config.seq_classif_dropout if family == "distilbert" else (
        config.classifier_dropout_prob if family == "albert"
        else getattr(config, "cls_dropout" if family == "deberta-v2" else "classifier_dropout", None)
        or config.hidden_dropout_prob)
    assert model.dropout == rate


@pytest.mark.parametrize("family", FAMILIES)
def test_save_hf_writes_the_tokenizer_files_transformers_reads(family, folders, texts, tmp_path):
    model = kbz.load(folders[family])
    model.preprocessor = kbz.load_preprocessor(folders[family], sequence_length=LENGTH)
    kbz.save_hf(model, tmp_path / "out")
    ours = kbz.load_preprocessor(tmp_path / "out", sequence_length=LENGTH)(texts[0])["token_ids"].numpy().tolist()
    theirs = hf_tokenizer(tmp_path / "out")(texts[0], truncation=True, max_length=LENGTH, padding="max_length")
    assert ours == theirs["input_ids"] == model.preprocessor(texts[0])["token_ids"].numpy().tolist()


@pytest.mark.parametrize("family", ["roberta", "xlm-roberta", "deberta-v2"])
def test_convert_carries_the_tokenizer_files(family, folders, texts, tmp_path):
    from keras_bert_zoo.cli import main

    main(["convert", str(folders[family]), str(tmp_path / "out"), "--to", "hf"])
    expected = hf_tokenizer(folders[family])(texts[0])["input_ids"]
    assert hf_tokenizer(tmp_path / "out")(texts[0])["input_ids"] == expected
