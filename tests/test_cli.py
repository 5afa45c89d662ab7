import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import onnxruntime
import pytest
import tensorflow as tf
import transformers
from conftest import make_inputs

import keras_bert_zoo as kbz
from keras_bert_zoo import tasks
from keras_bert_zoo.cli import main
from keras_bert_zoo.export.tflite_export import tflite_interpreter
from keras_bert_zoo.training import runs


def test_console_script_help():
    script = Path(sys.executable).parent / "keras-bert-zoo"  # the installed console script
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    assert "convert" in result.stdout and "presets" in result.stdout


def test_convert_hf_to_google_to_keras_to_hf_keeps_every_weight(tmp_path):
    kbz.save_hf(kbz.BertPretrainer(kbz.BertEncoder(97, 2, 2, 16, 32)), tmp_path / "hf",
                vocabulary=["[PAD]"] + [f"t{i}" for i in range(96)])
    assert main(["convert", str(tmp_path / "hf"), str(tmp_path / "google"), "--to", "google"]) == 0
    assert main(["convert", str(tmp_path / "google"), str(tmp_path / "m.keras"), "--to", "keras"]) == 0
    assert main(["convert", str(tmp_path / "m.keras"), str(tmp_path / "hf2"), "--to", "hf",
                 "--vocabulary", str(tmp_path / "google" / "vocab.txt")]) == 0
    first = transformers.BertForPreTraining.from_pretrained(tmp_path / "hf").state_dict()
    last = transformers.BertForPreTraining.from_pretrained(tmp_path / "hf2").state_dict()
    for name in first:
        np.testing.assert_array_equal(first[name].numpy(), last[name].numpy(), err_msg=name)
    assert (tmp_path / "hf2" / "vocab.txt").read_text() == (tmp_path / "hf" / "vocab.txt").read_text()


def test_convert_a_preset_writes_its_vocabulary(tmp_path):
    assert main(["convert", "bert_tiny_uncased", str(tmp_path / "tiny"), "--to", "hf", "--random-init"]) == 0
    encoder = kbz.load(tmp_path / "tiny", model_class="backbone")
    assert encoder.num_layers == 2
    assert len((tmp_path / "tiny" / "vocab.txt").read_text().splitlines()) == 30522
    assert encoder(make_inputs(vocabulary_size=30522))["pooled_output"].shape == (3, 128)


@pytest.mark.slow
def test_train_runs_the_recipe_and_evaluate_scores_its_export(tmp_path, capsys):
    dev = Path(__file__).parents[1] / "recipes" / "data" / "sst2" / "dev.tsv"
    main(["train", "classify", "--checkpoint", "bert_tiny_uncased", "--random-init", "--max-train-examples", "32",
          "--batch-size", "16", "--model-dir", str(tmp_path / "run"), "--export-dir", str(tmp_path / "sst2")])
    trained = capsys.readouterr().out.strip().splitlines()[-1]
    assert trained.startswith("dev accuracy: ")
    main(["evaluate", str(tmp_path / "sst2"), "--file", str(dev)])
    out = capsys.readouterr().out
    assert f"model: {tmp_path / 'sst2' / '1'}" in out
    # The served model and the recipe's Keras model agree on every dev sentence.
    assert out.strip().splitlines()[-1] == trained.replace("dev accuracy", "accuracy")
    with pytest.raises(SystemExit, match="unrecognized arguments: --bogus"):
        main(["presets", "--bogus"])


VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "movie", "a", "great", "film", "not"]
RECIPES = Path(__file__).parents[1] / "recipes"


def _tiny_classifier(seed=0, **options):
    keras.utils.set_random_seed(seed)
    encoder = kbz.BertEncoder(len(VOCAB), 2, 2, 16, 32, max_sequence_length=32)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB, lowercase=True), sequence_length=16)
    return kbz.BertClassifier(encoder, num_classes=2, preprocessor=preprocessor, **options), preprocessor


@pytest.fixture(scope="module")
def pair_model(tmp_path_factory):
    model, _ = _tiny_classifier(seed=1, label_names=["no", "yes"], pair=True)
    return kbz.export.saved_model(model, tmp_path_factory.mktemp("models") / "mrpc")


def test_export_a_training_run_then_predict_with_it(tmp_path, capsys):
    model, preprocessor = _tiny_classifier(label_names=["neg", "pos"])
    run = tmp_path / "runs" / "sst_tiny"
    _write_run(run, model)

    assert main(["export", str(run), "--format", "saved_model", "--output-dir", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out.splitlines()  # the export's phase lines, then what it wrote
    assert out[-1] == f"exported BertClassifier to {tmp_path / 'out' / 'sst_tiny' / '1'}"
    texts = ["a great movie", "not good"]
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(model(preprocessor(tf.constant(texts)))))
    labels = np.array(["neg", "pos"])[probabilities.argmax(-1)]

    assert main(["predict", str(tmp_path / "out" / "sst_tiny"), *texts, "--json"]) == 0
    predictions = json.loads(capsys.readouterr().out)
    assert [p["inputs"] for p in predictions] == [{"text": text} for text in texts]
    assert [p["outputs"]["label"] for p in predictions] == list(labels)
    np.testing.assert_allclose([p["outputs"]["probabilities"] for p in predictions], probabilities, atol=1e-5)

    assert main(["predict", str(tmp_path / "out" / "sst_tiny" / "1"), *texts]) == 0  # a version folder
    assert capsys.readouterr().out.splitlines() == [
        f"{text} => {label} ({p.max():.3f})" for text, label, p in zip(texts, labels, probabilities)]



def _write_run(run, model):
    """What a recipe leaves in --model-dir (the model carries its preprocessor, label names and pair)."""
    run.mkdir(parents=True)
    model.save(run / "best.keras")
    runs.save_run_info(run)


def test_export_a_training_run_to_tflite(tmp_path, capsys):
    model, preprocessor = _tiny_classifier(label_names=["neg", "pos"])
    _write_run(tmp_path / "sst_tiny", model)
    assert main(["export", str(tmp_path / "sst_tiny"), "--format", "tflite", "--quantization", "dynamic_int8",
                 "--output-dir", str(tmp_path / "out")]) == 0
    path = tmp_path / "out" / "sst_tiny.tflite"
    assert capsys.readouterr().out.splitlines()[-1] == f"exported BertClassifier to {path}"
    runner = tflite_interpreter(path).get_signature_runner("serving_default")
    texts = ["a great movie", "not good"]
    probabilities = keras.ops.softmax(model(preprocessor(tf.constant(texts))))
    np.testing.assert_allclose(runner(text=np.array(texts, object))["probabilities"], probabilities, atol=0.02)


def test_export_a_training_run_to_onnx(tmp_path, capsys):
    model, preprocessor = _tiny_classifier(label_names=["neg", "pos"])
    _write_run(tmp_path / "sst_tiny", model)
    assert main(["export", str(tmp_path / "sst_tiny"), "--format", "onnx", "--name", "sst2",
                 "--output-dir", str(tmp_path / "out"), "--weights", "best"]) == 0
    path = tmp_path / "out" / "sst2.onnx"
    assert capsys.readouterr().out.splitlines()[-1] == f"exported BertClassifier to {path}"
    inputs = {
        name: keras.ops.convert_to_numpy(value)
        for name, value in preprocessor(tf.constant(["a great movie"])).items()
    }
    (logits,) = onnxruntime.InferenceSession(str(path)).run(None, inputs)
    np.testing.assert_allclose(logits, model(inputs), atol=1e-5)


def test_export_errors_name_the_problem(tmp_path):
    with pytest.raises(SystemExit, match="is not a finished run: it needs best.keras"):
        main(["export", str(tmp_path), "--format", "saved_model"])
    with pytest.raises(SystemExit, match="--quantization applies to --format tflite, not onnx"):
        main(["export", str(tmp_path), "--format", "onnx", "--quantization", "int8"])
    with pytest.raises(SystemExit, match="--quantization int8 calibrates on real texts: give it --calibration-file"):
        main(["export", str(tmp_path), "--format", "tflite", "--quantization", "int8"])


def test_predict_a_pair_model_takes_text_b(pair_model, capsys):
    base = str(pair_model.parent)
    # One --text-b applies to every TEXT; --input text_b=... once per TEXT gives the same answers.
    assert main(["predict", base, "a good film", "not good", "--text-b", "a great movie", "--json"]) == 0
    shared = json.loads(capsys.readouterr().out)
    assert [p["inputs"] for p in shared] == [{"text_a": "a good film", "text_b": "a great movie"},
                                             {"text_a": "not good", "text_b": "a great movie"}]
    assert main(["predict", base, "a good film", "not good", "--json",
                 "--input", "text_b=a great movie", "--input", "text_b=a great movie"]) == 0
    assert json.loads(capsys.readouterr().out) == shared
    assert main(["predict", base, "a good film", "--text-b", "a great movie"]) == 0
    label, probability = shared[0]["outputs"]["label"], max(shared[0]["outputs"]["probabilities"])
    assert capsys.readouterr().out == f"a good film => {label} ({probability:.3f})\n"


@pytest.mark.parametrize("flags, message", [
    ([], r"takes 2 inputs \(text_a, text_b\): TEXT fills one, give the others with --text-b"),
    (["--context", "c"], "takes text_a, text_b; it has no input 'context'"),
    (["--text-b", "b1", "--text-b", "b2"], "2 values for text_b and 3 examples; give one for all, or one per"),
    (["--input", "text_b"], "--input takes NAME=TEXT, got 'text_b'"),
    (["--text-b", "b", "--input", "text_a=a"], "flags give every input of .* TEXT has none left to fill"),
    (["--text-b", "b", "--server", "h:1", "--rest", "h:2"], "give --server .* or --rest, not both"),
])
def test_predict_input_errors_name_the_expected_inputs(pair_model, flags, message):
    with pytest.raises(SystemExit, match=message):
        main(["predict", str(pair_model.parent), "x", "y", "z", *flags])


def test_predict_a_folder_without_a_model(tmp_path):
    with pytest.raises(SystemExit, match="holds no SavedModel"):
        main(["predict", str(tmp_path), "x"])


def test_train_offers_every_task_and_each_recipe_runs_one(capsys):
    with pytest.raises(SystemExit):
        main(["train", "no_such_task"])
    error = capsys.readouterr().err
    recipes = sorted(script.stem for script in RECIPES.glob("*.py"))
    assert recipes == sorted(tasks.TASKS) and all(f"'{task}'" in error for task in tasks.TASKS)


def test_train_with_no_shipped_data_names_the_flag_that_gives_it(tmp_path, monkeypatch, capsys):
    """Installed from a wheel there is no recipes/data/: the default data file's absence is an error line."""
    monkeypatch.setattr(runs, "SHIPPED_DATA", tmp_path / "recipes" / "data")
    from keras_bert_zoo.tasks import classify

    monkeypatch.setattr(classify, "DATA", runs.shipped_data("sst2"))
    with pytest.raises(SystemExit, match=r"error: .*sst2/train.tsv not found: it is a sample shipped in "
                                         r"recipes/data/ .* Give the file with --train-file\."):
        main(["train", "classify", "--model-dir", str(tmp_path / "run")])
    assert not (tmp_path / "run").exists()  # nothing started
    with pytest.raises(SystemExit, match=r"error: --dev-file .*missing.tsv: no such file\."):
        main(["train", "classify", "--train-file", str(Path(__file__).parent / "data" / "sst2" / "dev.tsv"),
              "--dev-file", str(tmp_path / "missing.tsv"), "--model-dir", str(tmp_path / "run")])
