"""`keras-bert-zoo export RUN --format saved_model|onnx|tflite` of a translate/summarize run folder, and `predict` on
each export (issue 19, "Export" + "CLI"): every format prints the SavedModel's generated text, which is the text the
seq2seq tasks score (`tasks.seq2seq.generate_texts`), and options that do not fit a generator are refused by name."""

import contextlib
import io
import json
import re
import shutil

import keras
import numpy as np
import pytest

import keras_bert_zoo as kbz
from keras_bert_zoo import cli
from keras_bert_zoo.tasks.seq2seq import generate_texts
from keras_bert_zoo.training import runs

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "man", "dog", "runs", "sits", "t", "-",
              "shirt", ",", "2", ".", "'", "s", "##s", "ein", "hund", "mann", "läuft", "(", ")", "/"]
TEXTS = ["the man runs.", "a dog sits, the dog runs", "t-shirt (2.2)", "", "dog's man / a man"]
MAX_LENGTH = 8


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny translate run folder as the task leaves it (last.keras with its preprocessor, run.json with the export
    name and card), its decoding options recorded in run.json, the model's weights perturbed so that it writes
    punctuation; and its SavedModel exported through the CLI."""
    folder = tmp_path_factory.mktemp("generator_cli")
    keras.utils.set_random_seed(2)
    tokenizer = kbz.BertTokenizer(VOCABULARY)
    model = kbz.BertEncoderDecoder(kbz.BertEncoder(len(VOCABULARY), 1, 2, 32, 64, max_sequence_length=16),
                                   preprocessor=kbz.BertPreprocessor(tokenizer, 12, padding="longest"))
    rng = np.random.default_rng(2)
    for weight in model.weights:
        weight.assign(weight.numpy() + rng.normal(0, 0.2, weight.shape).astype("float32"))
    run_dir = folder / "run"
    runs.save_run_info(run_dir, export_dir=folder / "saved_models" / "translate", card={"training_data": "tiny"},
                       generation={"max_length": MAX_LENGTH}, written_spacing=True)  # as the seq2seq tasks do
    runs.save_model(model, run_dir)
    output_dir = folder / "exports"
    cli.main(["export", str(run_dir), "--format", "saved_model", "--output-dir", str(output_dir)])
    return {"dir": run_dir, "output_dir": output_dir, "model": model, "tokenizer": tokenizer}


@pytest.fixture(scope="module")
def saved_model_texts(run):
    """What `keras-bert-zoo predict` prints for the SavedModel export: the text every other format must print."""
    return predicted(run["output_dir"] / "translate")


def predicted(model, texts=TEXTS):
    """The generated text `keras-bert-zoo predict MODEL TEXT...` prints for each text."""
    with contextlib.redirect_stdout(io.StringIO()) as out:
        cli.main(["predict", str(model), *texts])
    lines = out.getvalue().splitlines()
    assert len(lines) == len(texts), lines
    return ["" if line.endswith(' => ""') else line.split(" => ", 1)[1] for line in lines]


def test_saved_model_serves_the_text_the_task_scores(run, saved_model_texts):
    model = run["model"]
    expected = generate_texts(model, model.preprocessor, run["tokenizer"], TEXTS, len(TEXTS), MAX_LENGTH)
    assert saved_model_texts == expected  # run.json's max_length and written spacing reached the export
    assert any(re.search(r"\(\w", text) for text in expected), expected  # written spacing: "( runs" in transformers'
    assert len(set(expected)) > 1, expected  # the source matters


def test_onnx_folder_predicts_the_saved_model_text(run, saved_model_texts, capsys):
    cli.main(["export", str(run["dir"]), "--format", "onnx", "--output-dir", str(run["output_dir"])])
    printed = capsys.readouterr().out
    folder = run["output_dir"] / "translate_onnx"
    assert f"exported BertEncoderDecoder to {folder}:" in printed and "encoder.onnx and decoder_step.onnx" in printed
    assert sorted(path.name for path in folder.iterdir()) == [
        "decoder_step.onnx", "decoder_step.onnx.decoding.json", "decoder_step.onnx.target_tokenizer", "encoder.onnx",
        "encoder.onnx.preprocessing.json", "encoder.onnx.tokenizer", "generator.json"]
    assert predicted(folder) == saved_model_texts
    assert predicted(folder / "encoder.onnx", TEXTS[:2]) == saved_model_texts[:2]  # either .onnx names it


def test_tflite_returns_ids_and_predict_decodes_them_to_the_saved_model_text(run, saved_model_texts, capsys):
    cli.main(["export", str(run["dir"]), "--format", "tflite", "--output-dir", str(run["output_dir"]),
              "--max-length", str(MAX_LENGTH), "--written-spacing"])
    path = run["output_dir"] / "translate.tflite"
    assert "text in, token ids out (token_ids, num_tokens)" in capsys.readouterr().out
    runner = kbz.export.tflite_interpreter(path).get_signature_runner()
    assert set(runner.get_output_details()) == {"token_ids", "num_tokens"}
    assert predicted(path) == saved_model_texts
    alone = run["output_dir"] / "alone" / path.name  # without the files beside it: refused, naming them
    alone.parent.mkdir()
    shutil.copy(path, alone)
    with pytest.raises(SystemExit, match=r"answers token ids; .* \(translate.tflite.target_tokenizer/, "
                                         r"translate.tflite.decoding.json\)"):
        predicted(alone)


def test_options_that_do_not_fit_a_generator_are_refused_by_name(run, tmp_path, capsys):
    def export(*flags, run_dir=run["dir"]):
        cli.main(["export", str(run_dir), "--output-dir", str(tmp_path), *flags])

    with pytest.raises(SystemExit, match="--quantization fp16: the TFLite generator is float32 only"):
        export("--format", "tflite", "--quantization", "fp16")
    assert "note:" not in capsys.readouterr().err  # run.json holds the decoding options
    unrecorded = tmp_path / "unrecorded"  # a run.json of an older run: no decoding options
    shutil.copytree(run["dir"], unrecorded)
    (unrecorded / runs.RUN_INFO).write_text(json.dumps({"export_name": "translate"}))
    with pytest.raises(SystemExit, match="--quantization fp16"):
        export("--format", "tflite", "--quantization", "fp16", "--max-length", "8", run_dir=unrecorded)
    assert ("note: the run recorded no decoding options in run.json: max_length and written spacing are 8 and no "
            "unless --max-length and --written-spacing set them") in capsys.readouterr().err
    shutil.rmtree(unrecorded)
    calibration = tmp_path / "calibration.txt"
    calibration.write_text("the man runs.\n")
    with pytest.raises(SystemExit, match="--quantization int8: the TFLite generator is float32 only"):
        export("--format", "tflite", "--quantization", "int8", "--calibration-file", str(calibration))
    with pytest.raises(SystemExit, match="--num-beams 4: the ONNX generator decodes greedily"):
        export("--format", "onnx", "--num-beams", "4")
    beams = tmp_path / "beams"  # a run that decodes with beams (summarize's default): ONNX asks for greedy
    shutil.copytree(run["dir"], beams)
    runs.save_run_info(beams, generation={"max_length": MAX_LENGTH, "num_beams": 4, "no_repeat_ngram_size": 3})
    with pytest.raises(SystemExit, match=r"the run decodes with num_beams=4, no_repeat_ngram_size=3 \(run.json\); "
                                         "the ONNX generator's loop is greedy .* give --num-beams 1"):
        export("--format", "onnx", run_dir=beams)
    shutil.rmtree(beams)
    with pytest.raises(SystemExit, match=r"max_length=40 is outside \[2, 16\]"):
        export("--format", "saved_model", "--max-length", "40")
    classifier = kbz.BertClassifier(run["model"].encoder, 2, preprocessor=run["model"].preprocessor)
    classifier.save(tmp_path / "classifier.keras")
    with pytest.raises(SystemExit, match="--max-length applies to a BertEncoderDecoder .* not a BertClassifier"):
        cli.main(["export", str(tmp_path / "classifier.keras"), "--format", "onnx", "--max-length", "8",
                  "--output-dir", str(tmp_path)])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["calibration.txt", "classifier.keras"]
