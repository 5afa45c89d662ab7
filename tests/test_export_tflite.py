"""TFLite export: raw strings in the LiteRT interpreter give the Keras model's answers."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import SignatureRunner
from helpers import tiny_vocabulary

import keras_bert_zoo as kbz

POSITIVE = ["good", "great", "fine"]
NEGATIVE = ["bad", "dull", "awful"]
OTHER = ["a", "movie", "film", "the", "plot", "was", "très"]
VOCAB = tiny_vocabulary(*POSITIVE, *NEGATIVE, *OTHER)
TEXTS = [
    "a great movie", "the plot was dull", "", "   ", "awful film " * 60, "unknownword", "GOOD, Très fine!",
    "bad", "the movie was fine", "a film", "dull dull great", "Awful plot", "the film was good", "great great bad",
]


def sentences(count, seed):
    """Random sentences labelled 1 if they hold more positive than negative words (ties are 0)."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(count):
        words = list(rng.choice(POSITIVE + NEGATIVE + OTHER, size=rng.integers(1, 8)))
        texts.append(" ".join(words))
        labels.append(int(sum(w in POSITIVE for w in words) > sum(w in NEGATIVE for w in words)))
    return texts, labels


@pytest.fixture(scope="module")
def sentiment():
    """A tiny classifier trained until it has clear margins, so quantization has argmaxes to keep.

    hidden 32 x intermediate 128: its feed-forward kernels exceed the 1024 elements below which
    the converter leaves a weight unquantized.
    """
    keras.utils.set_random_seed(0)
    encoder = kbz.BertEncoder(len(VOCAB), 2, 2, 32, 128, max_sequence_length=32, dropout=0.0)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB, lowercase=True), sequence_length=16)
    model = kbz.BertClassifier(encoder, num_classes=2, dropout=0.0, label_names=["neg", "pos"],
                               preprocessor=preprocessor)
    texts, labels = sentences(512, seed=1)
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(preprocessor(tf.constant(texts)), np.array(labels), batch_size=32, epochs=4, verbose=0)
    return model, preprocessor


@pytest.fixture(scope="module")
def fp32_path(sentiment, tmp_path_factory):
    model, preprocessor = sentiment
    path = tmp_path_factory.mktemp("tflite") / "m.tflite"
    return kbz.export.tflite(model, path)


def keras_probabilities(model, preprocessor, texts):
    return keras.ops.convert_to_numpy(keras.ops.softmax(model(preprocessor(tf.constant(texts))), axis=-1))


def test_fp32_equals_keras_on_raw_texts_at_any_batch_size(sentiment, fp32_path):
    model, preprocessor = sentiment
    runner = kbz.export.tflite_interpreter(fp32_path).get_signature_runner()
    expected = keras_probabilities(model, preprocessor, TEXTS)
    # The runner resizes the input at each call; "" and the 360-character text also run alone.
    for rows in [slice(None), slice(0, 1), slice(2, 3), slice(4, 5), slice(1, 4)]:
        out = runner(text=np.array(TEXTS[rows], object))
        np.testing.assert_allclose(out["probabilities"], expected[rows], atol=1e-4)
        np.testing.assert_array_equal(out["label_id"], np.argmax(expected[rows], -1))
        np.testing.assert_array_equal(out["label"], np.array([b"neg", b"pos"])[np.argmax(expected[rows], -1)])
    one_thread = kbz.export.tflite_interpreter(fp32_path, num_threads=1).get_signature_runner()
    np.testing.assert_allclose(one_thread(text=np.array(TEXTS, object))["probabilities"], expected, atol=1e-4)


def test_tokenizer_runs_inside_the_tflite(sentiment, fp32_path):
    interpreter = kbz.export.tflite_interpreter(fp32_path)
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    assert {"FastBertNormalize", "FastWordpieceTokenizeWithOffsets", "RaggedTensorToTensor"} <= ops
    assert [d["dtype"] for d in interpreter.get_input_details()] == [np.bytes_]


@pytest.mark.parametrize("quantization, weight_dtype, mean_change", [
    ("fp16", np.float16, 5e-4), ("dynamic_int8", np.int8, 0.01), ("int8", np.int8, 0.03),
])
def test_quantized_model_keeps_the_argmax(sentiment, tmp_path, quantization, weight_dtype, mean_change):
    model, preprocessor = sentiment
    representative = sentences(64, seed=2)[0] if quantization == "int8" else None
    path = kbz.export.tflite(model, tmp_path / "q.tflite", quantization, representative)
    interpreter = kbz.export.tflite_interpreter(path)
    assert any(t["dtype"] == weight_dtype for t in interpreter.get_tensor_details())  # weights were quantized
    texts, labels = sentences(64, seed=3)
    expected = keras_probabilities(model, preprocessor, texts + TEXTS)
    out = interpreter.get_signature_runner()(text=np.array(texts + TEXTS, object))
    keras_accuracy = np.mean(np.argmax(expected[: len(texts)], -1) == labels)
    assert keras_accuracy >= 0.9  # the margins the argmax test needs
    assert np.mean(out["label_id"][: len(texts)] == labels) >= keras_accuracy - 0.05
    assert np.mean(out["label_id"] == np.argmax(expected, -1)) >= 0.95
    assert np.abs(out["probabilities"] - expected).mean() < mean_change


def test_pair_classifier(tmp_path):
    keras.utils.set_random_seed(0)
    encoder = kbz.BertEncoder(len(VOCAB), 2, 2, 16, 32, max_sequence_length=32)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB), sequence_length=12)
    model = kbz.BertClassifier(encoder, num_classes=3, pair=True, preprocessor=preprocessor)
    (tmp_path / "pair.tflite").write_bytes(b"old")
    os.link(tmp_path / "pair.tflite", tmp_path / "reader")  # a reader of the old file keeps reading it:
    path = kbz.export.tflite(model, tmp_path / "pair.tflite")
    assert (tmp_path / "reader").read_bytes() == b"old"  # the export replaced the file, not rewrote it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pair.tflite", "pair.tflite.README.md", "reader"]
    runner = kbz.export.tflite_interpreter(path).get_signature_runner()
    first, second = TEXTS, TEXTS[::-1]
    out = runner(text_a=np.array(first, object), text_b=np.array(second, object))
    inputs = preprocessor((tf.constant(first), tf.constant(second)))
    assert set(inputs["segment_ids"].numpy().ravel()) == {0, 1}
    expected = keras.ops.softmax(model(inputs), axis=-1)
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-4)
    np.testing.assert_array_equal(out["label"], np.array([b"0", b"1", b"2"])[np.argmax(expected, -1)])


def test_encoder_and_token_classifier(tmp_path):
    keras.utils.set_random_seed(0)
    encoder = kbz.BertEncoder(len(VOCAB), 2, 2, 16, 32, max_sequence_length=128)  # the longest text has 122 pieces
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB), sequence_length=None)  # pads to the longest row
    inputs = preprocessor(tf.constant(TEXTS))
    path = kbz.export.tflite(encoder, tmp_path / "enc.tflite", preprocessor=preprocessor)
    runner = kbz.export.tflite_interpreter(path)
    out = runner.get_signature_runner()(text=np.array(TEXTS, object))
    outputs = encoder(inputs)
    np.testing.assert_allclose(out["pooled_output"], outputs["pooled_output"], atol=1e-4)
    mask = inputs["padding_mask"].numpy()[:, :, None]
    mean = (outputs["sequence_output"].numpy() * mask).sum(1) / mask.sum(1)
    np.testing.assert_allclose(out["mean_embedding"], mean, atol=1e-4)

    tags = ["O", "B-X", "I-X"]
    tagger = kbz.BertTokenClassifier(encoder, num_classes=3, label_names=tags, preprocessor=preprocessor)
    path = kbz.export.tflite(tagger, tmp_path / "tagger.tflite")
    out = kbz.export.tflite_interpreter(path).get_signature_runner()(text=np.array(TEXTS, object))
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(tagger(inputs), axis=-1))
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-4)
    np.testing.assert_array_equal(out["token_ids"], inputs["token_ids"])
    np.testing.assert_array_equal(out["padding_mask"], inputs["padding_mask"])
    np.testing.assert_array_equal(out["tag"], np.array(tags, object).astype(bytes)[np.argmax(expected, -1)])


def test_bad_arguments(sentiment, tmp_path, monkeypatch):
    model, preprocessor = sentiment
    with pytest.raises(ValueError, match="must end in '.tflite'"):
        kbz.export.tflite(model, tmp_path / "model.bin")
    with pytest.raises(ValueError, match="quantization must be one of"):
        kbz.export.tflite(model, tmp_path / "m.tflite", quantization="int4")
    with pytest.raises(ValueError, match="needs representative_texts"):
        kbz.export.tflite(model, tmp_path / "m.tflite", quantization="int8")
    with pytest.raises(ValueError, match="3 label names for 2 classes"), monkeypatch.context() as patch:
        patch.setattr(model, "label_names", ["a", "b", "c"])
        kbz.export.tflite(model, tmp_path / "m.tflite")
    with pytest.raises(NotImplementedError, match="BertSpanQA"):
        kbz.export.tflite(kbz.BertSpanQA(model.encoder, preprocessor=preprocessor), tmp_path / "m.tflite")
    assert not any(tmp_path.iterdir())



def test_an_error_without_a_message_names_the_likely_cause(fp32_path, monkeypatch):
    runner = kbz.export.tflite_interpreter(fp32_path).get_signature_runner()

    def out_of_memory(self, **inputs):  # what LiteRT raises when an allocation fails
        raise RuntimeError("")

    monkeypatch.setattr(SignatureRunner, "__call__", out_of_memory)
    with pytest.raises(RuntimeError, match=r"LiteRT failed \(no message\) on a request of text \[2\] \(longest 12 "
                                           r"characters\), most likely out of memory"):
        runner(text=np.array(["a good movie", "bad"], object))
