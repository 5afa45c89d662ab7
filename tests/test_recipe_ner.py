"""recipes/ner.py end to end in its fast mode (train, evaluate on every test word, export, serve the
export), and its length-sorted prediction against a plain unsorted pass."""

import re
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_bert_zoo.data import ner_dataset, ner_word_ids, predictions_to_word_tags
from keras_bert_zoo.metrics import extract_entities
from keras_bert_zoo.tasks import ner
from keras_bert_zoo.text import BertPreprocessor, BertTokenizer

RECIPE = Path(__file__).parents[1] / "recipes" / "ner.py"
TEST_FILE = RECIPE.parent / "data" / "conll2003" / "test.txt"
LABELS = ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]


def _first_sentences(path, count):
    """The first `count` sentences of a CoNLL file as lists of (word, tag), read without the package."""
    sentences, current = [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines() + [""]:
        fields = line.split()
        if fields and fields[0] != "-DOCSTART-":
            current.append((fields[0], fields[-2]))
        elif current:
            sentences.append(current)
            current = []
    return sentences[:count]


@pytest.fixture(scope="module")
def recipe():
    return vars(ner)


def test_ner_recipe_trains_scores_every_test_word_and_exports(tmp_path, run_recipe):
    lines = run_recipe(RECIPE, "--checkpoint", "bert_tiny_uncased", "--random-init", "--max-train-examples", "64",
                       "--epochs", "1",
                       "--batch-size", "16", "--sequence-length", "24", "--max-test-examples", "120",
                       "--model-dir", tmp_path / "run", "--export-dir", tmp_path / "conll2003")
    assert re.fullmatch(r"test entity F1: [01]\.\d{4}", lines[-1])
    assert re.fullmatch(r"test entity recall: [01]\.\d{4}", lines[-2])
    assert re.fullmatch(r"test entity precision: [01]\.\d{4}", lines[-3])
    assert (tmp_path / "run" / "last.keras").is_file()

    # Every word of the 120 sentences is counted, and at 24 wordpieces some are cut (scored as "O").
    sentences = _first_sentences(TEST_FILE, 120)
    num_entities = sum(len(extract_entities([tag for _, tag in sentence])) for sentence in sentences)
    summary = next(line for line in lines if line.startswith("test: "))
    match = re.fullmatch(r"test: (\d+) sentences, (\d+) words, (\d+) cut by --sequence-length 24 "
                         r"\(scored as O\), (\d+) entities", summary)
    assert match, summary
    assert int(match[1]) == 120 and int(match[2]) == sum(map(len, sentences))
    assert int(match[3]) > 0 and int(match[4]) == num_entities

    served = tf.saved_model.load(str(tmp_path / "conll2003" / "1")).signatures["serving_default"]
    texts = ["Peter Blackburn visited BRUSSELS in August .", "", "Germany " * 200]
    out = served(text=tf.constant(texts))
    assert out["num_words"].numpy().tolist()[:2] == [7, 0]
    assert [word.decode() for word in out["words"].numpy()[0, :7]] == texts[0].split()
    assert out["truncated"].numpy().tolist() == [False, False, True]
    tags = {tag.decode() for row in out["tags"].numpy() for tag in row} - {""}
    assert tags <= set(LABELS)
    for text, row_texts, starts, ends in zip(texts, out["entity_text"].numpy(), out["entity_start"].numpy(),
                                             out["entity_end"].numpy()):
        for entity, start, end in zip(row_texts, starts, ends):
            if entity:  # padding is ""
                assert text[start:end] == entity.decode()


def test_prediction_in_length_order_equals_a_plain_pass(recipe):
    """Sorting by length and trimming each batch changes no tag; cut and empty words get "O"."""
    tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##b", "c"])
    sentences = [["a", "bbbb", "c"], ["c"] * 9, ["b"], ["a", "c", "a"], ["\x00", "c"], ["bbbb"] * 3, ["a"]]

    class TokenEcho:  # tags each wordpiece by its id, so a tag shows which token it came from
        def predict_on_batch(self, inputs):
            return tf.one_hot(inputs["token_ids"] % len(LABELS), len(LABELS)).numpy()

    tags, num_cut = recipe["predict_word_tags"](TokenEcho(), sentences, BertPreprocessor(tokenizer), LABELS, 8, 3)

    word_ids, cut = ner_word_ids(sentences, BertPreprocessor(tokenizer), 8)
    inputs = next(iter(ner_dataset(sentences, BertPreprocessor(tokenizer, sequence_length=8), len(sentences))))
    expected = predictions_to_word_tags(TokenEcho().predict_on_batch(inputs), word_ids, LABELS, sentences)
    assert tags == expected
    assert num_cut == int(np.sum(cut)) == 5  # the last 3 "c" of row 1, the last 2 "bbbb" of row 5
    assert tags[1][-3:] == ["O"] * 3 and tags[4][0] == "O"  # cut words and a word with no wordpiece
    assert [len(row) for row in tags] == [len(sentence) for sentence in sentences]
