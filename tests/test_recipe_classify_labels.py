"""classify (recipes/classify.py) --label-names: SST-2 answers negative/positive; other data keeps its raw labels."""

import pytest

from keras_bert_zoo.tasks import classify


@pytest.fixture(scope="module")
def recipe():
    return {**vars(classify), "parse_args": lambda argv: classify.parser().parse_args(argv)}


def test_the_shipped_sst2_data_answers_negative_positive(recipe):
    assert recipe["_label_names"](recipe["parse_args"]([]), ["0", "1"]) == ["negative", "positive"]


def test_other_data_keeps_its_raw_labels_unless_named(recipe, tmp_path):
    other = recipe["parse_args"](["--train-file", str(tmp_path / "train.tsv")])
    assert recipe["_label_names"](other, ["0", "1"]) == ["0", "1"]
    named = recipe["parse_args"](["--train-file", str(tmp_path / "train.tsv"), "--label-names", "no, yes"])
    assert recipe["_label_names"](named, ["0", "1"]) == ["no", "yes"]
    assert recipe["_label_names"](recipe["parse_args"](["--label-names", "bad,good"]), ["0", "1"]) == ["bad", "good"]


@pytest.mark.parametrize("names", ["a,b,c", "a", "a,a", "a,"])
def test_a_wrong_label_names_flag_names_the_labels_found(recipe, names):
    args = recipe["parse_args"](["--label-names", names])
    with pytest.raises(SystemExit, match=r"--label-names .* must give 2 distinct names, one per label of "
                                         r".*train.tsv in this order: 0, 1\."):
        recipe["_label_names"](args, ["0", "1"])
