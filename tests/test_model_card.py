"""Model cards: every export writes a README.md (Hugging Face convention) that says what the model is and how to
run it; a SavedModel's is inside its version folder, a .tflite's and a .onnx's beside the file."""

import json

import keras
import pytest
import tensorflow as tf
from helpers import tiny_vocabulary

import keras_bert_zoo as kbz

VOCAB = tiny_vocabulary("a", "great", "movie", "bad")
LABELS = ["negative", "positive"]
FACTS = {"base_model": "sentence-transformers/all-MiniLM-L6-v2", "training_data": "SST-2 sample: 40 training sentences",
         "metrics": {"dev accuracy": 0.8406}, "command": "python recipes/classify.py --epochs 1"}


@pytest.fixture(scope="module")
def classifier():
    keras.utils.set_random_seed(0)
    encoder = kbz.BertEncoder(len(VOCAB), 1, 2, 8, 16, max_sequence_length=16)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB, lowercase=True), sequence_length=8)
    return kbz.BertClassifier(encoder, num_classes=2, label_names=LABELS, preprocessor=preprocessor), preprocessor


@pytest.fixture(scope="module")
def saved(classifier, tmp_path_factory):
    model, preprocessor = classifier
    path = kbz.export.saved_model(model, tmp_path_factory.mktemp("models") / "sst2", max_texts_per_request=7,
                                  card=FACTS)
    return path, (path / "README.md").read_text()


def front_matter(card):
    assert card.startswith("---\n")
    text = card.split("---\n")[1]
    try:
        import yaml
    except ImportError:  # a simple check without PyYAML
        assert "library_name: keras" in text.splitlines()
        return None
    return yaml.safe_load(text)


def test_saved_model_card_is_in_the_version_folder(saved):
    path, card = saved
    assert path.name == "1" and sorted(p.name for p in path.parent.iterdir()) == ["1"]  # no temporary left
    meta = front_matter(card)
    if meta is not None:
        assert meta["library_name"] == "keras" and meta["pipeline_tag"] == "text-classification"
        assert meta["base_model"] == FACTS["base_model"] and meta["metrics"] == ["dev accuracy"]
        assert "saved-model" in meta["tags"]
    assert "| 0 | negative |" in card and "| 1 | positive |" in card
    limits = json.loads((path / "assets.extra" / "serving_limits.json").read_text())
    assert limits["max_texts_per_request"] == 7
    for name in ("max_texts_per_request", "max_chars_per_text", "max_windows_per_context"):
        assert f"`{name}" in card
    assert "`max_texts_per_request`: 7" in card and "Sequence length: at most 8 tokens" in card
    request = '{"signature_name": "serving_default", "instances": [{"text": "a great movie"}]}'
    assert f"curl -d '{request}'" in card and "http://localhost:8501/v1/models/sst2:predict" in card
    assert "import tensorflow_text" in card
    # the facts given: metric, command, data
    assert "| dev accuracy | 0.8406 |" in card and FACTS["command"] in card and FACTS["training_data"] in card


def test_saved_model_with_a_card_still_loads(saved):
    path, _ = saved
    import tensorflow_text  # noqa: F401

    out = tf.saved_model.load(str(path)).signatures["serving_default"](text=tf.constant(["a great movie"]))
    assert out["probabilities"].shape == (1, 2)


def test_card_without_facts_says_what_is_not_recorded(classifier):
    from keras_bert_zoo.export.model_card import model_card

    model, _ = classifier
    card = model_card(model, "saved_model", name="pairs", input_names=["text_a", "text_b"], pair=True,
                      label_names=["0", "1"], sequence_length=8, truncate="round_robin", limits={},
                      instance={"text_a": "a", "text_b": "b"})
    front_matter(card)
    assert "base_model" not in card and "metrics:" not in card and "Not recorded." in card
    assert "None: trained from random" not in card
    assert '"text_a": "a", "text_b": "b"' in card and "| 1 | 1 |" in card and "Sentence-pair classification" in card


def test_unknown_card_fact_is_refused_before_writing(classifier, tmp_path):
    model, preprocessor = classifier
    with pytest.raises(ValueError, match="Unknown card facts"):
        kbz.export.saved_model(model, tmp_path / "m", card={"accuracy": 0.9})
    assert not (tmp_path / "m").exists() or not any((tmp_path / "m").iterdir())


def test_tflite_card_beside_the_file(classifier, tmp_path):
    model, preprocessor = classifier
    path = kbz.export.tflite(model, tmp_path / "sst2.tflite", card=FACTS)
    card = (tmp_path / "sst2.tflite.README.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sst2.tflite", "sst2.tflite.README.md"]
    front_matter(card)
    assert path.name == "sst2.tflite" and "| 1 | positive |" in card and "tflite_interpreter" in card
    assert "| dev accuracy | 0.8406 |" in card and FACTS["command"] in card


def test_onnx_card_beside_the_file(classifier, tmp_path):
    model, _ = classifier
    model = kbz.BertClassifier(model.encoder, num_classes=2, label_names=LABELS)  # ids in: no preprocessor
    path = kbz.export.onnx(model, tmp_path / "sst2.onnx")
    card = (tmp_path / "sst2.onnx.README.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sst2.onnx", "sst2.onnx.README.md"]
    meta = front_matter(card)
    if meta is not None:
        assert meta["pipeline_tag"] == "text-classification" and "metrics" not in meta
    assert path.name == "sst2.onnx" and "onnxruntime" in card and "tokenizer is not inside" in card
    assert "`token_ids`, `segment_ids`, `padding_mask`" in card and "| 0 | negative |" in card
