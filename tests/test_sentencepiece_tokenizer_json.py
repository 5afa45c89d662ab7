"""An XLM-R folder as transformers 5 saves it (tokenizer.json, no .model): kbz.load_tokenizer and
load_preprocessor rebuild the .model from tokenizer.json, with ids equal to the folder's AutoTokenizer."""

import json

import pytest
import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2
from test_sentencepiece_tokenizer import RULES, SST2_TRAIN, check_against_hf, shipped_texts

import keras_bert_zoo as kbz
from keras_bert_zoo.errors import CheckpointError
from keras_bert_zoo.text.sentencepiece_json import sentencepiece_model_of_tokenizer_json


@pytest.fixture(scope="module", params=list(RULES))
def folders(request, tmp_path_factory):
    """(the trained .model, a tiny XLM-R folder transformers 5 saved from it: tokenizer.json and no .model)."""
    from transformers import XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizerFast

    source, saved = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("saved")
    sentences = [line.split("\t")[0] for line in SST2_TRAIN.read_text(encoding="utf-8").splitlines()[1:]]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_prefix=str(source / "sentencepiece.bpe"), vocab_size=400,
        model_type="unigram", normalization_rule_name=RULES[request.param], byte_fallback=False, minloglevel=2,
    )
    tokenizer = XLMRobertaTokenizerFast.from_pretrained(str(source))
    tokenizer.save_pretrained(str(saved))
    config = XLMRobertaConfig(vocab_size=len(tokenizer), hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                              intermediate_size=16, max_position_embeddings=24)
    XLMRobertaModel(config).save_pretrained(str(saved))  # a folder kbz.load_tokenizer knows as XLM-R
    assert not list(saved.glob("*.model")) and (saved / "tokenizer.json").is_file()
    return source / "sentencepiece.bpe.model", saved


def test_rebuilt_model_has_the_original_pieces_scores_and_normalizer(folders):
    model_file, saved = folders
    original, rebuilt = sentencepiece_model_pb2.ModelProto(), sentencepiece_model_pb2.ModelProto()
    original.ParseFromString(model_file.read_bytes())
    rebuilt.ParseFromString(sentencepiece_model_of_tokenizer_json(saved / "tokenizer.json"))
    assert [(p.piece, p.score, p.type) for p in rebuilt.pieces] == [(p.piece, p.score, p.type) for p in original.pieces]
    assert rebuilt.normalizer_spec.precompiled_charsmap == original.normalizer_spec.precompiled_charsmap
    assert rebuilt.normalizer_spec.add_dummy_prefix and rebuilt.trainer_spec.unk_id == original.trainer_spec.unk_id


def test_load_tokenizer_ids_equal_auto_tokenizer_on_shipped_texts(folders):
    from transformers import AutoTokenizer

    model_file, saved = folders
    ours, hf = kbz.load_tokenizer(str(saved)), AutoTokenizer.from_pretrained(str(saved))
    texts = shipped_texts()
    processor = spm.SentencePieceProcessor(model_file=str(model_file))
    # Every text but the one documented combining sequence (see test_sentencepiece_tokenizer).
    assert check_against_hf(ours, hf, processor, texts) == len(texts) - 1


def test_load_preprocessor_packs_as_auto_tokenizer(folders):
    from transformers import AutoTokenizer

    _, saved = folders
    texts = ["A gripping, funny film.", "Ünïcödé  text\twith   spaces"]
    preprocessor = kbz.load_preprocessor(str(saved), sequence_length=16)
    reference = AutoTokenizer.from_pretrained(str(saved))(texts, padding="max_length", truncation=True, max_length=16)
    outputs = preprocessor(texts)
    assert outputs["token_ids"].numpy().tolist() == reference["input_ids"]
    assert outputs["padding_mask"].numpy().astype(int).tolist() == reference["attention_mask"]


def test_tokenizer_json_of_another_kind_names_the_file(folders, tmp_path):
    _, saved = folders
    data = json.loads((saved / "tokenizer.json").read_text(encoding="utf-8"))
    cases = {
        "BPE": {**data, "model": {"type": "BPE", "vocab": {}, "merges": []}},
        "byte fallback": {**data, "model": {**data["model"], "byte_fallback": True}},
        "normalizer 'Lowercase'": {**data, "normalizer": {"type": "Lowercase"}},
        "pre-tokenizer ['ByteLevel']": {**data, "pre_tokenizer": {"type": "ByteLevel"}},
        "the xlm_roberta layout": {**data, "model": {**data["model"], "vocab": data["model"]["vocab"][1:]}},
    }
    for problem, broken in cases.items():
        path = tmp_path / "tokenizer.json"
        path.write_text(json.dumps(broken), encoding="utf-8")
        with pytest.raises(CheckpointError, match=str(path)) as error:
            sentencepiece_model_of_tokenizer_json(path)
        assert problem in str(error.value)
