"""recipes/squad.py end to end in its fast mode: train, evaluate, export, and serve the export."""

import hashlib
import json
from pathlib import Path

import pytest
import tensorflow as tf

import keras_bert_zoo as kbz
from keras_bert_zoo.data import read_squad
from keras_bert_zoo.tasks.squad import best_f1_threshold

RECIPE = Path(__file__).parents[1] / "recipes" / "squad.py"
SAMPLE = RECIPE.parent / "data" / "squad" / "dev-v2.0-first5.json"


def test_squad_recipe_trains_evaluates_and_exports(tmp_path, run_recipe):
    lines = run_recipe(RECIPE, "--checkpoint", "bert_tiny_uncased", "--random-init", "--max-train-examples", "64",
                       "--epochs", "1",
                       "--sequence-length", "128", "--doc-stride", "32", "--model-dir", tmp_path / "run",
                       "--export-dir", tmp_path / "squad",
                       # Always answer: a model this small never beats its null score, and spans test more than "".
                       "--null-score-threshold", "inf", "--export-threshold", "flag")
    assert lines[-1].startswith("XQuAD-English F1: ")
    assert 0.0 <= float(lines[-1].split(": ")[1]) <= 100.0
    assert any(line.startswith("XQuAD-English: exact match") and "(SQuAD v1.1: always answering)" in line
               for line in lines)
    assert any(line.strip().startswith("NoAns: exact") for line in lines)
    assert (tmp_path / "run" / "last.keras").is_file()
    assert kbz.load(tmp_path / "run" / "last.keras").doc_stride == 32

    context = json.loads(SAMPLE.read_text())["data"][4]["paragraphs"][0]["context"]  # a dev context
    contexts = [context, context * 3, ""]  # one window, several windows, no tokens at all
    served = tf.saved_model.load(str(tmp_path / "squad" / "1")).signatures["serving_default"]
    out = served(question=tf.constant(["What is Victoria?", "Where is it?", "?"]), context=tf.constant(contexts))
    answers = [answer.decode("utf-8") for answer in out["answer"].numpy()]
    starts, ends = out["answer_start"].numpy(), out["answer_end"].numpy()
    assert out["has_answer"].numpy().tolist()[2] is False and answers[2] == "" and starts[2] == -1
    for answer, start, end, text in zip(answers, starts, ends, contexts):  # a piece of its context, or ""
        assert answer == (text[start:end] if start >= 0 else "")

    # The export answers the dev questions as the recipe's evaluation did (at the exported threshold).
    dev_articles = json.loads(SAMPLE.read_text())["data"][4:]
    dev = read_squad({"data": dev_articles})
    out = served(question=tf.constant(dev.questions), context=tf.constant(dev.contexts))
    served_answers = dict(zip(dev.ids, (answer.decode("utf-8") for answer in out["answer"].numpy())))
    assert sum(answer != "" for answer in served_answers.values()) > len(dev.ids) // 2
    assert next(line for line in lines if line.startswith("exported to")).endswith("with null score threshold inf")
    printed = next(line for line in lines if line.startswith("SQuAD v2.0 held-out article: exact match"))
    assert f"F1 {kbz.metrics.squad_scores(dev_articles, served_answers)['f1']:.2f} over 247" in printed


def test_exported_threshold_is_never_answer_when_that_scores_best():
    # The official script's 0.0 when no threshold beats answering nothing: with null odds that is -inf.
    assert best_f1_threshold({"best_f1": 100 * 123 / 247, "best_f1_thresh": 0.0, "NoAns_total": 123, "total": 247}) == \
        float("-inf")
    assert best_f1_threshold({"best_f1": 52.1, "best_f1_thresh": 1.25, "NoAns_total": 123, "total": 247}) == 1.25
    assert best_f1_threshold({"best_f1": 61.0, "best_f1_thresh": -2.0, "total": 10}) == -2.0  # SQuAD v1.1


def test_squad_recipe_wants_both_files_or_neither(run_recipe, tmp_path):
    with pytest.raises(SystemExit):
        run_recipe(RECIPE, "--train-file", SAMPLE, "--model-dir", tmp_path)


def test_shipped_squad_samples_match_their_source_note():
    note = (SAMPLE.parent / "SOURCE.md").read_text()
    for file in SAMPLE.parent.glob("*.json"):
        assert hashlib.sha256(file.read_bytes()).hexdigest() in note, file.name
    counts = {name: len(read_squad(SAMPLE.parent / name).ids)
              for name in ("train-v1.1-first11.json", "xquad.en.json", "dev-v2.0-first5.json")}
    assert counts == {"train-v1.1-first11.json": 3807, "xquad.en.json": 1190, "dev-v2.0-first5.json": 1407}
