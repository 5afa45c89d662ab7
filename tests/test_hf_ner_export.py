"""A fine-tuned Hugging Face NER folder ships with one command: `keras-bert-zoo export FOLDER --format ...`
takes raw text and returns the entities transformers' token-classification pipeline finds."""

import numpy as np
import onnxruntime
import pytest
import tensorflow as tf
import torch
import transformers
from helpers import tiny_vocabulary

from keras_bert_zoo.cli import main
from keras_bert_zoo.export import tflite_interpreter

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
WORDS = ["john", "smith", "works", "for", "acme", "in", "new", "york", "paris", "and", "mary", "lives", "near",
         "the", "city", "hall", "of", "berlin", "."]
VOCAB = tiny_vocabulary(*WORDS, "ber", "##lin", "jo", "##hn", "##s")
# Every word is one wordpiece here, so grouping wordpieces ("simple") and words (ours) is the same thing.
ONE_PIECE_TEXTS = ["john smith works for acme in new york .", "mary lives near the city hall of berlin",
                   "paris", "", "the the the"]


@pytest.fixture(scope="module")
def hf_ner_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf_ner")
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    transformers.BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
    torch.manual_seed(3)
    config = transformers.BertConfig(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=4, intermediate_size=37, max_position_embeddings=64,
                                     id2label=dict(enumerate(LABELS)))
    model = transformers.BertForTokenClassification(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.3)  # confident, varied tags
    model.save_pretrained(folder)
    return folder


def pipeline_entities(folder, texts, aggregation):
    tagger = transformers.pipeline("token-classification", model=str(folder), tokenizer=str(folder),
                                   aggregation_strategy=aggregation, device="cpu")
    return [tagger(text) if text else [] for text in texts]


def served_entities(outputs, row):
    count = int(outputs["num_entities"][row])
    return [
        {"entity_group": outputs["entity_type"][row, i].decode(), "start": int(outputs["entity_start"][row, i]),
         "end": int(outputs["entity_end"][row, i]), "score": float(outputs["entity_score"][row, i]),
         "word": outputs["entity_text"][row, i].decode()}
        for i in range(count)
    ]


def assert_same_entities(ours, theirs):
    assert [(e["entity_group"], e["start"], e["end"], e["word"]) for e in ours] == \
           [(e["entity_group"], e["start"], e["end"], e["word"]) for e in theirs]
    np.testing.assert_allclose([e["score"] for e in ours], [float(e["score"]) for e in theirs], atol=1e-5)


@pytest.mark.slow
def test_exported_hf_ner_folder_finds_the_entities_transformers_finds(hf_ner_folder, tmp_path, capsys):
    assert main(["export", str(hf_ner_folder), "--format", "saved_model", "--output-dir", str(tmp_path),
                 "--name", "ner"]) == 0
    serve = tf.saved_model.load(str(tmp_path / "ner" / "1")).signatures["serving_default"]
    outputs = {key: value.numpy() for key, value in serve(text=tf.constant(ONE_PIECE_TEXTS)).items()}
    expected = pipeline_entities(hf_ner_folder, ONE_PIECE_TEXTS, "simple")
    assert sum(map(len, expected)) >= 4  # the random tagger finds entities to compare
    for row, theirs in enumerate(expected):
        assert_same_entities(served_entities(outputs, row), theirs)

    # Words of several wordpieces take the tag of their first piece: transformers' "first" aggregation.
    texts = ["johns works in ber", "johns lives near berlin ."]  # johns = john ##s
    outputs = {key: value.numpy() for key, value in serve(text=tf.constant(texts)).items()}
    expected = pipeline_entities(hf_ner_folder, texts, "first")
    assert any(entity["word"] == "johns" for entities in expected for entity in entities)
    for row, theirs in enumerate(expected):
        assert_same_entities(served_entities(outputs, row), theirs)


@pytest.mark.slow
def test_hf_ner_folder_exports_to_tflite_and_onnx_with_transformers_tags(hf_ner_folder, tmp_path):
    reference = transformers.BertForTokenClassification.from_pretrained(hf_ner_folder).eval()
    tokenizer = transformers.BertTokenizerFast.from_pretrained(hf_ner_folder)
    batch = tokenizer(ONE_PIECE_TEXTS[:2], padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = reference(**batch).logits.numpy()
    mask = batch["attention_mask"].numpy().astype(bool)

    assert main(["export", str(hf_ner_folder), "--format", "onnx", "--output-dir", str(tmp_path), "--name", "ner"]) == 0
    session = onnxruntime.InferenceSession(str(tmp_path / "ner.onnx"))
    ids = {"token_ids": batch["input_ids"], "segment_ids": batch["token_type_ids"], "padding_mask": mask}
    ours = session.run(None, {key: np.asarray(value, "int32") for key, value in ids.items()})[0]
    assert np.abs(ours - logits)[mask].max() <= 1e-4

    assert main(["export", str(hf_ner_folder), "--format", "tflite", "--output-dir", str(tmp_path),
                 "--name", "ner"]) == 0
    runner = tflite_interpreter(tmp_path / "ner.tflite").get_signature_runner()
    out = runner(text=np.array(ONE_PIECE_TEXTS[:2], object))
    assert out["token_ids"].tolist() == (batch["input_ids"].numpy() * mask).tolist()
    tags = np.array(LABELS)[logits.argmax(-1)]
    assert [tag.decode() for tag in out["tag"][mask]] == tags[mask].tolist()
