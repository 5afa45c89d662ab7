"""`keras-bert-zoo predict` lines: long inputs shortened, truncation said, empty inputs warned about."""

from types import SimpleNamespace

import tensorflow as tf

from keras_bert_zoo import cli
from keras_bert_zoo.cli import main

LONG = "dull and tedious " * 6000  # 102,000 characters


def fake_model(monkeypatch, answer, inputs=("text",)):
    """Stands in for the served model (its real outputs are tested in tests/test_export_*.py)."""
    signature = SimpleNamespace(inputs={name: tf.TensorSpec([None], tf.string) for name in inputs})
    client = SimpleNamespace(signature=signature, predict=lambda batch: [answer(text) for text in batch[inputs[0]]])
    monkeypatch.setattr(cli, "_prediction_client", lambda args: (client, "model"))


def test_a_long_input_is_shortened_and_its_truncation_said(monkeypatch, capsys):
    def tagger(text):  # a NER model tags the first 126 words of a long text
        long = len(text) > 100
        num_words = 126 if long else len(text.split())
        return {"entity_text": ["dull"], "entity_type": ["MISC"], "entity_start": [0], "entity_end": [4],
                "entity_score": [0.5], "num_entities": 1, "num_words": num_words, "truncated": long,
                "words": ["dull"] * num_words, "tags": ["B-MISC"] * num_words, "word_start": [0] * num_words,
                "word_end": [4] * num_words}

    fake_model(monkeypatch, tagger)
    assert main(["predict", "m", "dull film", LONG]) == 0
    short, long = capsys.readouterr().out.splitlines()
    assert short == "dull film => 'dull' MISC 0:4 (0.50)"
    assert long == ('"dull and tedious dull and tedious dull and tedious dull and…" (102,000 chars) => '
                    "'dull' MISC 0:4 (0.50) (input truncated: only its first 126 words were tagged)")


def test_an_empty_input_is_warned_about(monkeypatch, capsys):
    fake_model(monkeypatch, lambda text: {"label": "positive", "label_id": 1, "probabilities": [0.1, 0.9]},
               inputs=("text_a", "text_b"))
    assert main(["predict", "m", "a great movie", "  ", "--text-b", "", "--text-b", "fine"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["a great movie => positive (0.900)", '"  " => positive (0.900)']
    assert captured.err.splitlines() == [
        "warning: the text_b of input 1 is empty; the model's answer for it means nothing",
        "warning: input 2 is empty; the model's answer for it means nothing"]
