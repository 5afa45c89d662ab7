import pytest

from keras_bert_zoo.data import label_vocabulary, read_glue_tsv


def test_reads_single_sentence_and_pair_files_by_column_name(tmp_path):
    (tmp_path / "sst.tsv").write_text('sentence\tlabel\nit \'s "good"\t1\nbad\t0\n')
    examples = read_glue_tsv(tmp_path / "sst.tsv")
    assert examples.texts == [['it \'s "good"', "bad"]] and examples.labels == ["1", "0"]
    (tmp_path / "mrpc.tsv").write_text("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tA b.\tC d.\n")
    pairs = read_glue_tsv(tmp_path / "mrpc.tsv", ["#1 String", "#2 String"], "Quality")
    assert pairs.texts == [["A b."], ["C d."]] and pairs.labels == ["1"]


def test_unlabelled_files_give_empty_labels(tmp_path):
    (tmp_path / "test.tsv").write_text("index\tsentence\n0\thello\n")
    assert read_glue_tsv(tmp_path / "test.tsv").labels == [""]


def test_errors_name_the_problem(tmp_path):
    (tmp_path / "a.tsv").write_text("sentence\tlabel\nok\t1\nbroken line\n")
    with pytest.raises(ValueError, match=r"a.tsv:3 has 1 fields, the header has 2"):
        read_glue_tsv(tmp_path / "a.tsv")
    with pytest.raises(ValueError, match=r"has no column text"):
        read_glue_tsv(tmp_path / "a.tsv", ["text"])


def test_label_vocabulary_sorts_numbers_numerically():
    assert label_vocabulary(["10", "2", "1", "2"]) == ["1", "2", "10"]
    assert label_vocabulary(["pos", "neg"]) == ["neg", "pos"]


def test_shipped_sst2_sample_is_complete():
    from pathlib import Path

    data = Path(__file__).parents[1] / "recipes" / "data" / "sst2"
    assert len(read_glue_tsv(data / "dev.tsv").labels) == 872
    assert set(read_glue_tsv(data / "train.tsv").labels) == {"0", "1"}
