import pytest

from keras_bert_zoo.export import next_version, write_version


def test_versions_count_up_and_never_overwrite(tmp_path):
    base = tmp_path / "model"
    assert next_version(base) == 1
    first = write_version(base, lambda d: (d / "saved_model.pb").write_text("1"))
    second = write_version(base, lambda d: (d / "saved_model.pb").write_text("2"))
    assert (first.name, second.name) == ("1", "2")
    assert (first / "saved_model.pb").read_text() == "1"
    (base / "10").mkdir()
    assert next_version(base) == 11


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    def fail(directory):
        (directory / "half").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_version(tmp_path, fail)
    assert list(tmp_path.iterdir()) == []


def test_the_version_appears_only_when_complete(tmp_path):
    seen = []

    def write(directory):
        (directory / "saved_model.pb").write_text("x")
        seen.append(sorted(p.name for p in tmp_path.iterdir() if p.name.isdigit()))

    write_version(tmp_path, write)
    assert seen == [[]]  # while writing, TF Serving would find no integer folder
    assert [p.name for p in tmp_path.iterdir()] == ["1"]
