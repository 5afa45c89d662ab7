"""Multiple-choice data: SWAG CSV and JSON-lines readers, in-graph pair packing, the tf.data pipeline."""

import json

import numpy as np
import pytest
import tensorflow as tf
from helpers import tiny_vocabulary

from keras_bert_zoo.data import (
    MultipleChoiceExamples,
    multiple_choice_dataset,
    pack_choices,
    read_multiple_choice_jsonl,
    read_swag_csv,
)
from keras_bert_zoo.text import BertPreprocessor, BertTokenizer

WORDS = ["the", "glass", "fell", "it", "broke", "sang", "a", "man", "ran", "walked", "slept", "home", "then", "he"]
# swagaf's data/*.csv start with an unnamed index column; Hugging Face's "swag" files do not.
SWAGAF_HEADER = ",video-id,fold-ind,startphrase,sent1,sent2,gold-source,ending0,ending1,ending2,ending3,label"
SWAGAF_ROWS = [
    '0,anetv_1,18313,"A man ran. He",A man ran.,He,gold,slept.,"sang, then walked.",broke.,fell.,1',
    "1,lsmdc_2,18419,The glass fell. It,The glass fell.,It,gen,broke.,sang.,ran.,slept.,0",
]


@pytest.fixture(scope="module")
def preprocessor():
    tokenizer = BertTokenizer(tiny_vocabulary(".", ",", *WORDS))
    return BertPreprocessor(tokenizer, sequence_length=16, padding="longest")


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _jsonl(path, rows):
    return _write(path, [json.dumps(row) if isinstance(row, dict) else row for row in rows])


def test_read_swag_csv_joins_sent2_with_each_ending(tmp_path):
    examples = read_swag_csv(_write(tmp_path / "train.csv", [SWAGAF_HEADER, *SWAGAF_ROWS]))
    assert examples.contexts == ["A man ran.", "The glass fell."]
    assert examples.choices[0] == ["He slept.", "He sang, then walked.", "He broke.", "He fell."]
    assert examples.labels == [1, 0]
    assert examples.num_choices == 4


def test_read_swag_csv_without_index_column_or_labels(tmp_path):
    header = "video-id,fold-ind,startphrase,sent1,sent2,gold-source,ending0,ending1,ending2,ending3"
    rows = [row.split(",", 1)[1].rsplit(",", 1)[0] for row in SWAGAF_ROWS]  # no index, no label
    examples = read_swag_csv(_write(tmp_path / "test.csv", [header, *rows]))
    assert examples.labels is None
    assert examples.choices[1] == ["It broke.", "It sang.", "It ran.", "It slept."]
    blank_labels = read_swag_csv(_write(tmp_path / "blank.csv", [SWAGAF_HEADER] + [r[:-1] for r in SWAGAF_ROWS]))
    assert blank_labels.labels is None  # swagaf's test.csv has the column, empty


@pytest.mark.parametrize("rows, message", [
    ([SWAGAF_HEADER, SWAGAF_ROWS[0], SWAGAF_ROWS[1][:-1]], r"train.csv:3 has no label"),
    ([SWAGAF_HEADER, SWAGAF_ROWS[0][:-1] + "4"], r"train.csv:2 has label 4, not a choice index in 0..3"),
    ([SWAGAF_HEADER, SWAGAF_ROWS[0][:-1] + "x"], r"train.csv:2 has label 'x'"),
    ([SWAGAF_HEADER, SWAGAF_ROWS[0] + ",extra"], r"train.csv:2 has 13 fields, the header has 12"),
    ([SWAGAF_HEADER.replace("sent1", "first")], r"has no column sent1"),
    ([SWAGAF_HEADER.replace("ending", "option")], r"has no column ending0"),
    ([SWAGAF_HEADER], r"holds no examples"),
])
def test_read_swag_csv_errors_name_the_problem(tmp_path, rows, message):
    with pytest.raises(ValueError, match=message):
        read_swag_csv(_write(tmp_path / "train.csv", rows))


def test_read_jsonl_joins_context_and_question(tmp_path):
    path = _jsonl(tmp_path / "copa.jsonl", [
        {"context": "The glass fell.", "question": "What happened?", "choices": ["It broke.", "It sang."], "label": 0},
        "",
        {"question": "A man ran.", "choices": ["He slept.", "He walked."], "label": 1, "id": "extra keys are fine"},
        {"context": "It sang.", "choices": ["A", "B"], "label": 1},
    ])
    examples = read_multiple_choice_jsonl(path)
    assert examples.contexts == ["The glass fell. What happened?", "A man ran.", "It sang."]
    assert examples.choices[1] == ["He slept.", "He walked."]
    assert examples.labels == [0, 1, 1]


@pytest.mark.parametrize("rows, message", [
    (['{"context": "a", "choices": ["x", "y"], "label": 0', ], r"copa.jsonl:1 is not valid JSON"),
    (['["a", "b"]'], r"copa.jsonl:1 is not a JSON object"),
    ([{"choices": ["x", "y"], "label": 0}], r'copa.jsonl:1 needs a string "context" or "question"'),
    ([{"context": "a", "choices": "x y", "label": 0}], r'copa.jsonl:1 needs "choices", a list of strings'),
    ([{"context": "a", "choices": ["x", "y"], "label": True}], r"copa.jsonl:1 has label True"),
    ([{"context": "a", "choices": ["x", "y"], "label": 0}, {"context": "b", "choices": ["x", "y", "z"], "label": 0}],
     r"copa.jsonl:2 has 3 choices, the first example 2"),
    ([{"context": "a", "choices": ["x", "y"], "label": 2}], r"copa.jsonl:1 has label 2, not a choice index in 0..1"),
    ([{"context": "a", "choices": ["x", "y"]}, {"context": "b", "choices": ["x", "y"], "label": 0}],
     r"copa.jsonl:1 has no label"),
    ([{"context": "a", "choices": ["x"], "label": 0}], r"at least 2 choices"),
])
def test_read_jsonl_errors_name_the_line(tmp_path, rows, message):
    with pytest.raises(ValueError, match=message):
        read_multiple_choice_jsonl(_jsonl(tmp_path / "copa.jsonl", rows))


def test_pack_choices_packs_each_pair_as_the_preprocessor_does(preprocessor):
    contexts = ["the glass fell", "a man ran home then slept then walked"]
    choices = [["it broke", "it sang"], ["slept", "the man walked home then ran then sang"]]
    packed = pack_choices(preprocessor, tf.constant(contexts), tf.constant(choices))
    assert packed["token_ids"].shape[:2] == (2, 2)
    for i in range(2):
        for j in range(2):
            alone = preprocessor((tf.constant([contexts[i]]), tf.constant([choices[i][j]])))
            width = alone["token_ids"].shape[1]
            for name in ("token_ids", "segment_ids", "padding_mask"):
                np.testing.assert_array_equal(packed[name][i, j, :width], alone[name][0])
                assert not np.any(packed[name][i, j, width:])  # the batch's padding
    assert packed["token_ids"].shape[2] == 16  # the long pair is truncated to sequence_length


def test_dataset_batches_questions_with_their_choices(preprocessor):
    examples = MultipleChoiceExamples(
        contexts=["the glass fell", "a man ran", "it sang"],
        choices=[["it broke", "it sang", "it ran"], ["he slept", "he walked", "it fell"], ["a", "b", "c"]],
        labels=[0, 1, 2],
    )
    batches = list(multiple_choice_dataset(examples, preprocessor, batch_size=2))
    assert [labels.numpy().tolist() for _, labels in batches] == [[0, 1], [2]]
    inputs = batches[0][0]
    assert inputs["token_ids"].shape == (2, 3, 8)  # padded to the longest: [CLS] a man ran [SEP] he walked [SEP]
    assert inputs["token_ids"].dtype == tf.int32
    expected = pack_choices(preprocessor, tf.constant(examples.contexts[:2]), tf.constant(examples.choices[:2]))
    np.testing.assert_array_equal(inputs["token_ids"], expected["token_ids"])

    shuffled = multiple_choice_dataset(examples, preprocessor, batch_size=3, shuffle=True, seed=1)
    (inputs, labels), = list(shuffled)
    for row, label in enumerate(labels.numpy()):  # each question keeps its own choices and label
        expected = pack_choices(preprocessor, tf.constant(examples.contexts[label:label + 1]),
                                tf.constant(examples.choices[label:label + 1]))
        width = expected["token_ids"].shape[2]
        np.testing.assert_array_equal(inputs["token_ids"][row, :, :width], expected["token_ids"][0])


def test_dataset_without_labels_yields_inputs_only(preprocessor):
    examples = MultipleChoiceExamples(["the glass fell"], [["it broke", "it sang"]], None)
    (inputs,) = list(multiple_choice_dataset(examples, preprocessor, batch_size=4))
    assert set(inputs) == {"token_ids", "segment_ids", "padding_mask"}
    assert inputs["padding_mask"].shape[:2] == (1, 2)


def test_dataset_cache_needs_a_fixed_length(preprocessor):
    examples = MultipleChoiceExamples(["the glass fell", "a man ran"], [["it broke", "it sang"], ["a", "b"]], [1, 0])
    with pytest.raises(ValueError, match=r"cache=True .* pads to a fixed length"):
        multiple_choice_dataset(examples, preprocessor, 2, cache=True)
    with pytest.raises(ValueError, match="does not bucket by length"):
        multiple_choice_dataset(examples, preprocessor, 2, bucket_by_sequence_length=True)
    fixed = BertPreprocessor(preprocessor.tokenizer, sequence_length=12)
    plain = list(multiple_choice_dataset(examples, fixed, 2))
    cached = list(multiple_choice_dataset(examples, fixed, 2, cache=True))
    np.testing.assert_array_equal(plain[0][0]["token_ids"], cached[0][0]["token_ids"])
    assert cached[0][0]["token_ids"].shape == (2, 2, 12)
