"""The task pipelines on other families' tokenizers and packing: NER word alignment, span QA windows and MLM
masking for RoBERTa (byte-level BPE, `<s> q </s></s> c </s>`) and XLM-R (SentencePiece), against Hugging Face."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from family_folders import family_folder
from test_data_squad import SQUAD_SAMPLE, _hf_reference

import keras_bert_zoo as kbz
from keras_bert_zoo.data import ner_word_ids, pretraining_dataset, read_squad, squad_features
from keras_bert_zoo.data.features.ner import ner_features
from keras_bert_zoo.data.readers import read_conll

CONLL = Path(__file__).parent / "data" / "conll2003" / "test_first300.txt"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    return {family: family_folder(root, family, "Model") for family in ("roberta", "xlm-roberta")}


def hf(folder, **kwargs):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), **kwargs)


@pytest.mark.parametrize("family", ["roberta", "xlm-roberta"])
def test_ner_words_align_as_hugging_face_split_words(family, folders):
    """Each word is tokenized as a word of the sentence (RoBERTa: "Ġ" before it, as `add_prefix_space=True`)."""
    sentences = read_conll(CONLL).words[:100]
    preprocessor = kbz.load_preprocessor(folders[family], sequence_length=1024)  # no sentence is cut
    word_ids, _ = ner_word_ids(sentences, preprocessor)
    features = ner_features(tf.ragged.constant(sentences, tf.string), preprocessor)
    reference = hf(folders[family], add_prefix_space=True) if family == "roberta" else hf(folders[family])
    encoded = reference(sentences, is_split_into_words=True)
    for i, ids in enumerate(encoded["input_ids"]):
        assert features["token_ids"][i, :len(ids)].numpy().tolist() == ids, i
        assert word_ids[i, :len(ids)].tolist() == [-1 if w is None else w for w in encoded.word_ids(i)], i


def test_roberta_span_qa_windows_match_hugging_face(folders):
    """`<s> question </s></s> context </s>` windows, their context offsets and answer positions, as run_qa."""
    examples = read_squad(str(SQUAD_SAMPLE))
    examples = dataclasses.replace(examples, **{f.name: getattr(examples, f.name)[:120]
                                                for f in dataclasses.fields(examples)})
    preprocessor = kbz.load_preprocessor(folders["roberta"], sequence_length=128)
    ours = squad_features(examples, preprocessor, 128, 32, 24)
    reference = _hf_reference(hf(folders["roberta"]), examples, 128, 32, 24)
    assert len(reference) == len(ours.example_index) > len(examples.ids)
    assert "segment_ids" not in ours.inputs
    for w, (example, ids, context_offsets, start, end) in enumerate(reference):
        assert ours.example_index[w] == example
        assert ours.inputs["token_ids"][w, :len(ids)].tolist() == ids, w
        our_offsets = {j: tuple(o) for j, o in enumerate(ours.offsets[w].tolist()) if o[0] >= 0}
        assert our_offsets == context_offsets, w
        assert (ours.start_positions[w], ours.end_positions[w]) == (start, end), w


def test_roberta_masked_lm_batches_keep_its_special_tokens(folders):
    preprocessor = kbz.load_preprocessor(folders["roberta"], sequence_length=32)
    tokenizer = preprocessor.tokenizer
    documents = [["The cat sat on the mat.", "It was warm there."], ["Paris is in France.", "Rome is not.", "Yes."]]
    ds = pretraining_dataset(documents * 8, preprocessor, 8, as_features=True, seed=3)
    batch = next(iter(ds))
    assert "segment_ids" not in batch
    ids, positions = batch["token_ids"].numpy(), batch["mask_positions"].numpy()
    weights, targets = batch["mask_weights"].numpy(), batch["mask_ids"].numpy()
    assert (ids[:, 0] == tokenizer.cls_id).all()
    specials = {tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id}
    for row in range(len(ids)):
        real = positions[row][weights[row] > 0]
        assert not specials & set(targets[row][weights[row] > 0].tolist())  # specials are never predicted
        assert (ids[row][real] != tokenizer.sep_id).all()
        # <s> a </s></s> b </s>: two separators in a row once, then the last one
        seps = np.flatnonzero(ids[row] == tokenizer.sep_id)
        assert len(seps) == 3 and seps[1] == seps[0] + 1
    replaced = ids[np.arange(len(ids))[:, None], positions][weights > 0]
    vocabulary = tokenizer.get_vocabulary()
    assert not [vocabulary[i] for i in set(replaced.tolist()) - {tokenizer.mask_id} if vocabulary[i].startswith("<")]
    assert (replaced == tokenizer.mask_id).mean() > 0.5
