"""Exporting a BertEncoderDecoder text in -> text out (issue 19, "Export"): the SavedModel's ids equal
`model.generate`, its text equals transformers' `BertTokenizer.decode(skip_special_tokens=True)` on a target vocabulary
other than the source's (a translator's), TF Serving's TF1 loader runs all three signatures, hostile requests get an
answer or a named error, `keras-bert-zoo predict` prints the generated text, and the ONNX encoder + decoder-step loop
and the .tflite give the SavedModel's ids."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
import transformers
from tensorflow_serving.apis.prediction_log_pb2 import PredictionLog

import keras_bert_zoo as kbz
from keras_bert_zoo import cli
from keras_bert_zoo.export import file_clients
from keras_bert_zoo.export.saved_model_files import WARMUP_FILE
from keras_bert_zoo.export.serving.wordpiece_decoding import wordpiece_decoder
from keras_bert_zoo.text.wordpiece_text import decode_wordpiece, space_as_written

UNCASED = Path(__file__).parents[1] / "keras_bert_zoo" / "vocab" / "uncased.txt"
VOCABULARY_SIZE = 5000  # the uncased vocabulary's first tokens: specials, punctuation, words and "##" pieces
TEXTS = ["the cat sat on the mat", "", "a b c d e f g", "hello world", "summaries are short", "x",
         "long " * 200_000]  # a million characters: truncated to the preprocessor's 16 tokens
MAX_LENGTH = 10


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny BERT2BERT reading part of the uncased vocabulary and writing another (the same tokens in reverse
    order), its weights perturbed and its [SEP] logit raised so that rows end at different steps, exported as a
    SavedModel."""
    folder = tmp_path_factory.mktemp("generator")
    source = UNCASED.read_text().splitlines()[:VOCABULARY_SIZE]
    target_file = folder / "target_vocab.txt"
    target_file.write_text("".join(f"{token}\n" for token in reversed(source)))
    target = kbz.BertTokenizer(target_file)
    keras.utils.set_random_seed(0)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(source), sequence_length=16)
    model = kbz.BertEncoderDecoder(kbz.BertEncoder(VOCABULARY_SIZE, 2, 2, 32, 64, max_sequence_length=32),
                                   preprocessor=preprocessor)
    rng = np.random.default_rng(0)
    for weight in model.weights:
        weight.assign(weight.numpy() + rng.normal(0, 0.2, weight.shape).astype("float32"))
    # Raise [SEP]'s logit past the best one at the first step for half the texts: those end at once, the rest later.
    inputs = {name: value.numpy() for name, value in preprocessor(TEXTS).items()}
    logits = model({"encoder_token_ids": inputs["token_ids"], "encoder_padding_mask": inputs["padding_mask"],
                    "decoder_token_ids": np.full((len(TEXTS), 2), target.cls_id, "int32"),  # position 0: step 1
                    "decoder_padding_mask": np.ones((len(TEXTS), 2), "int32")})["logits"].numpy()[:, 0]
    gaps = logits.max(axis=1) - logits[:, target.sep_id]
    bias = model.lm_head._bias.numpy()
    bias[target.sep_id] += np.median(gaps) + 1e-3
    model.lm_head._bias.assign(bias)
    path = kbz.export.saved_model(model, folder / "translator", target_tokenizer=target,
                                  generation={"max_length": MAX_LENGTH}, encoder_batch_size=3, max_texts_per_request=8)
    return {"model": model, "preprocessor": preprocessor, "target": target, "target_file": target_file, "path": path}


def test_wordpiece_decoding_equals_transformers_decode():
    """Random rows over the whole uncased vocabulary, with special tokens, punctuation and "'" pieces in them."""
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 30522, (300, 12))
    ids[:, 2] = rng.choice([0, 100, 101, 102, 103, 1005, 1010, 1012, 1029, 999, 2015, 2102], 300)
    ids[:40, 0] = 2015  # "##s" first
    num_tokens = rng.integers(0, 13, 300)
    tokenizer = kbz.BertTokenizer(UNCASED)
    ours = wordpiece_decoder(tokenizer)(tf.constant(ids), tf.constant(num_tokens)).numpy()
    theirs = transformers.BertTokenizer(str(UNCASED))
    expected = [theirs.decode(row[:n].tolist(), skip_special_tokens=True) for row, n in zip(ids, num_tokens)]
    assert [text.decode() for text in ours] == expected
    # The Python decoder the seq2seq recipes score with gives the same text, and so does the graph with
    # written spacing (RE2 in the graph, Python's re there).
    assert [decode_wordpiece(tokenizer, row[:n]) for row, n in zip(ids, num_tokens)] == expected
    written = wordpiece_decoder(tokenizer, written_spacing=True)(tf.constant(ids), tf.constant(num_tokens)).numpy()
    assert [text.decode() for text in written] == [space_as_written(text) for text in expected]
    assert sum(space_as_written(text) != text for text in expected) > 20  # rows it changes


def reference_ids(exported, texts, max_length=MAX_LENGTH):
    inputs = exported["preprocessor"](texts)
    target = exported["target"]
    return exported["model"].generate(
        {"encoder_token_ids": inputs["token_ids"], "encoder_padding_mask": inputs["padding_mask"]},
        max_length=max_length, start_token_id=target.cls_id, end_token_id=target.sep_id, pad_token_id=target.pad_id)


def transformers_text(exported, ids, num_tokens):
    tokenizer = transformers.BertTokenizer(str(exported["target_file"]))
    return [tokenizer.decode(row[:n].tolist(), skip_special_tokens=True) for row, n in zip(ids, num_tokens)]


def numpy_outputs(outputs):
    return {name: value.numpy() for name, value in outputs.items()}


def test_text_in_text_out_equals_generate_and_transformers_decode(exported):
    loaded = tf.saved_model.load(str(exported["path"]))
    out = numpy_outputs(loaded.signatures["serving_default"](text=tf.constant(TEXTS)))
    expected = reference_ids(exported, TEXTS)
    np.testing.assert_array_equal(out["token_ids"], expected)
    assert len(set(out["num_tokens"].tolist())) > 1, out["num_tokens"]  # rows end at different steps
    for row, n in zip(out["token_ids"], out["num_tokens"]):
        assert (row[n:] == exported["target"].pad_id).all() and row[0] == exported["target"].cls_id
    assert [text.decode() for text in out["generated_text"]] == transformers_text(exported, expected, out["num_tokens"])
    assert any(out["generated_text"]) and not all(out["generated_text"])  # some text, and some rows ended at once
    with_ids = numpy_outputs(loaded.signatures["from_ids"](
        **{f"encoder_{name}": value for name, value in exported["preprocessor"](TEXTS[:3]).items()
           if name != "segment_ids"}))
    np.testing.assert_array_equal(with_ids["generated_text"], out["generated_text"][:3])


def test_tf_serving_loader_runs_every_signature_and_the_warmup(exported):
    texts = np.array(TEXTS[:4], object)
    with kbz.export.ServedModel(exported["path"]) as session:
        assert {"from_ids", "generate", "serving_default"} <= set(session.signatures)
        served = session(text=texts)
        np.testing.assert_array_equal(served["token_ids"], reference_ids(exported, TEXTS[:4]))
        options = {"max_length": 4, "min_length": 0, "num_beams": 1, "length_penalty": 1.0, "no_repeat_ngram_size": 0,
                   "early_stopping": False, "do_sample": False, "top_k": 50, "top_p": 1.0, "seed": 0}
        short = session("generate", text=texts, **options)
        np.testing.assert_array_equal(short["token_ids"], reference_ids(exported, TEXTS[:4], max_length=4))
        assert short["token_ids"].shape[1] <= 4
        empty = session(text=np.array([], object))
        assert empty["generated_text"].shape == (0,) and empty["token_ids"].shape[0] == 0
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"max_length is 1000; it must be in \[2, 32\]"):
            session("generate", text=texts, **{**options, "max_length": 1000})
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"num_beams is 0; it must be in \[1, 16\]"):
            session("generate", text=texts, **{**options, "num_beams": 0})
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"top_p is 0; it must be in \(0, 1\]"):
            session("generate", text=texts, **{**options, "top_p": 0.0})
        with pytest.raises(tf.errors.InvalidArgumentError, match="request has 9 texts.*max_texts_per_request"):
            session(text=np.array(["x"] * 9, object))
        assert session(text=texts)["num_tokens"].shape == (4,)  # the session still serves after the refusals
        warmup = [PredictionLog.FromString(record.numpy()).predict_log.request
                  for record in tf.data.TFRecordDataset(str(exported["path"] / WARMUP_FILE))]
        assert [list(request.inputs) for request in warmup] == [["text"], ["text"]]
        for request in warmup:  # TF Serving replays them before it serves the version
            answer = session(request.model_spec.signature_name, text=tf.make_ndarray(request.inputs["text"]))
            assert answer["generated_text"].shape == (1,)


def test_export_arguments_are_checked(exported, tmp_path):
    model = exported["model"]
    with pytest.raises(ValueError, match=r"Unknown generation options \['beams'\]"):
        kbz.export.saved_model(model, tmp_path / "x", generation={"beams": 4})
    with pytest.raises(ValueError, match=r"max_length=40 is outside \[2, 32\]"):
        kbz.export.saved_model(model, tmp_path / "x", generation={"max_length": 40})
    small = kbz.BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hallo"])
    with pytest.raises(ValueError, match="target tokenizer has 6 tokens; the decoder writes 5000"):
        kbz.export.saved_model(model, tmp_path / "x", target_tokenizer=small)
    with pytest.raises(ValueError, match="applies to a BertEncoderDecoder, not a BertClassifier"):
        kbz.export.saved_model(kbz.BertClassifier(model.encoder, 2, preprocessor=exported["preprocessor"]),
                               tmp_path / "x", generation={"max_length": 4})
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_model_card_and_cli_predict_print_the_generated_text(exported, capsys):
    card = (exported["path"] / "README.md").read_text()
    assert "pipeline_tag: text2text-generation" in card and "a generator" in card and "`generate`" in card
    cli.main(["predict", str(exported["path"].parent), TEXTS[0], TEXTS[3]])
    printed = capsys.readouterr().out.strip().splitlines()
    ids = reference_ids(exported, [TEXTS[0], TEXTS[3]])
    texts = transformers_text(exported, ids, [len(ids[0])] * 2)
    assert printed == [f"{TEXTS[0]} => {texts[0] or chr(34) * 2}", f"{TEXTS[3]} => {texts[1] or chr(34) * 2}"]


def test_onnx_encoder_and_decoder_step_loop_equals_the_saved_model(exported, tmp_path):
    folder = kbz.export.onnx_generator(exported["model"], tmp_path / "translator_onnx",
                                       target_tokenizer=exported["target"], generation={"max_length": MAX_LENGTH})
    assert sorted(path.name for path in folder.iterdir()) == [
        "decoder_step.onnx", "decoder_step.onnx.decoding.json", "decoder_step.onnx.target_tokenizer", "encoder.onnx",
        "encoder.onnx.preprocessing.json", "encoder.onnx.tokenizer", "generator.json"]
    texts = TEXTS[:6]
    served = kbz.export.LocalModel(exported["path"]).predict({"text": texts})
    inputs = exported["preprocessor"](texts)
    ids = kbz.export.OnnxGenerator(folder).generate(inputs["token_ids"].numpy(), inputs["padding_mask"].numpy(),
                                                     MAX_LENGTH)
    lengths = [len(example["token_ids"]) for example in served]
    assert [row[:n].tolist() for row, n in zip(ids, lengths)] == [example["token_ids"] for example in served]
    assert ids.shape[1] == max(lengths) and all((row[n:] == exported["target"].pad_id).all()
                                                for row, n in zip(ids, lengths))
    # The folder's own files give the text: the preprocessor, the loop, the target vocabulary (not the source's).
    answers = file_clients.OnnxGeneratorModel(folder).predict({"text": texts})
    assert [example["generated_text"] for example in answers] == [example["generated_text"] for example in served]
    with pytest.raises(NotImplementedError, match="onnx_generator"):
        kbz.export.onnx(exported["model"], tmp_path / "x.onnx")


@pytest.mark.slow
def test_tflite_runs_tokenizer_and_decoding_loop_with_the_saved_model_ids(exported, tmp_path):
    path = kbz.export.tflite_generator(exported["model"], tmp_path / "translator.tflite",
                                       target_tokenizer=exported["target"], generation={"max_length": MAX_LENGTH})
    runner = kbz.export.tflite_interpreter(path).get_signature_runner()
    texts = TEXTS[:6]
    out = runner(text=np.array(texts, object))
    served = numpy_outputs(tf.saved_model.load(str(exported["path"])).signatures["serving_default"](
        text=tf.constant(texts)))
    np.testing.assert_array_equal(out["token_ids"], served["token_ids"])
    np.testing.assert_array_equal(out["num_tokens"], served["num_tokens"])
