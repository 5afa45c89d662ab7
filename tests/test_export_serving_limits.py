"""Serving limits and memory: an over-limit request is refused with an error naming the limit, and a
hostile request within the limits takes memory in proportion to its size (issue 12, items 7 and 10)."""

import dataclasses
import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import tiny_vocabulary

import keras_bert_zoo as kbz
from keras_bert_zoo.export.serving.classifier import classifier_graph
from keras_bert_zoo.export.serving.graph import ServingLimits
from keras_bert_zoo.export.serving.span_qa import span_qa_graph
from keras_bert_zoo.export.serving.token_classifier import token_classifier_graph

VOCAB = tiny_vocabulary("john", "works", "in", "paris", "since", "the", "war", ".")
SENTENCE = "john works in paris since the war . "


def _encoder(sequence_length):
    keras.utils.set_random_seed(0)
    return kbz.BertEncoder(len(VOCAB), 2, 2, 16, 32, max_sequence_length=sequence_length)


def _serve(graph):
    return tf.function(graph.serve_text, input_signature=graph.text_inputs)


def _refusal(serve, *inputs):
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        serve(*[tf.constant(x) for x in inputs])
    return error.value.message


def test_over_limit_requests_are_refused_naming_the_limit():
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB), sequence_length=16)
    limits = ServingLimits(max_chars_per_text=20, max_texts_per_request=3, max_windows_per_context=2)
    classify = _serve(classifier_graph(kbz.BertClassifier(_encoder(16), num_classes=2), preprocessor, limits=limits))
    assert classify(tf.constant(["john works", "x" * 20, ""]))["label"].shape == (3,)
    assert "text 1 has 21 characters; this model accepts at most 20 (max_chars_per_text)" in _refusal(
        classify, ["john", "é" * 21])
    assert "request has 4 texts; this model accepts at most 3 (max_texts_per_request)" in _refusal(
        classify, ["john"] * 4)
    tag = _serve(token_classifier_graph(kbz.BertTokenClassifier(_encoder(16), num_classes=1), preprocessor, ["O"],
                                        limits))
    assert "(max_chars_per_text)" in _refusal(tag, ["x" * 21])
    answer = _serve(span_qa_graph(kbz.BertSpanQA(_encoder(16)), preprocessor, doc_stride=2, max_query_length=2,
                                  limits=dataclasses.replace(limits, max_chars_per_text=1000)))
    assert answer(tf.constant(["who"]), tf.constant([SENTENCE * 2]))["answer"].shape == (1,)  # 2 windows
    assert "context 0 has 1001 characters; this model accepts at most 1,000 (max_chars_per_text)" in _refusal(
        answer, ["who"], ["x" * 1001])
    assert "context 1 needs 3 windows; this model accepts at most 2 (max_windows_per_context)" in _refusal(
        answer, ["who", "who"], ["john", SENTENCE * 3])
    with pytest.raises(ValueError, match="encoder_batch_size must be a positive int"):
        ServingLimits(encoder_batch_size=0)


def test_the_encoder_runs_in_chunks_with_the_same_outputs():
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB), sequence_length=16)
    model = kbz.BertClassifier(_encoder(16), num_classes=2)
    texts = tf.constant([SENTENCE[:n] for n in range(0, 35, 5)])
    whole = _serve(classifier_graph(model, preprocessor))(texts)
    chunked = _serve(classifier_graph(model, preprocessor, limits=ServingLimits(encoder_batch_size=3)))(texts)
    np.testing.assert_allclose(chunked["probabilities"], whole["probabilities"], atol=1e-6)
    empty = _serve(classifier_graph(model, preprocessor, limits=ServingLimits(encoder_batch_size=3)))(
        tf.constant([], tf.string))
    assert empty["probabilities"].shape == (0, 2)


# Peak resident memory a request adds to a process serving it (VmHWM, reset just before it).
MEMORY_PROBE = """
import json, sys
import keras, tensorflow as tf
import keras_bert_zoo as kbz
from keras_bert_zoo.export.serving.span_qa import span_qa_graph
from keras_bert_zoo.export.serving.token_classifier import token_classifier_graph

vocab, sentence = json.loads(sys.argv[1])
tokenizer = kbz.BertTokenizer(vocab)

def serve(graph_of, sequence_length, *args):
    keras.utils.set_random_seed(0)
    encoder = kbz.BertEncoder(len(vocab), 2, 2, 16, 32, max_sequence_length=sequence_length)
    graph = graph_of(encoder, kbz.BertPreprocessor(tokenizer, sequence_length=sequence_length), *args)
    return tf.function(graph.serve_text, input_signature=graph.text_inputs)

def growth(serve, *inputs):
    rss = lambda field: next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(field)) / 1024
    serve(*[tf.constant([x[0][:100]]) for x in inputs])  # traced and warm
    before = rss("VmRSS:")
    open("/proc/self/clear_refs", "w").write("5")  # VmHWM := VmRSS
    serve(*[tf.constant(x) for x in inputs])
    return rss("VmHWM:") - before

long = sentence * 10_000  # 360,000 characters
tag = serve(lambda e, p, n: token_classifier_graph(kbz.BertTokenClassifier(e, num_classes=3), p, n), 32,
            ["O", "B-X", "I-X"])
answer = serve(lambda e, p: span_qa_graph(kbz.BertSpanQA(e), p), 384)
# QA first: memory an earlier request freed stays with the process, and the later one may reuse it.
qa = growth(answer, ["who"], [long])  # its ~320 windows in one encoder batch took 0.8 GB
print(json.dumps({"qa": qa, "ner": growth(tag, [sentence] * 300 + [long])}))  # [301, 360,000] tensors took 1.2 GB
"""


@pytest.mark.slow
def test_hostile_requests_take_memory_in_proportion_to_their_size():
    child = subprocess.run([sys.executable, "-c", MEMORY_PROBE, json.dumps([VOCAB, SENTENCE])], capture_output=True,
                           text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-3000:]
    growth = json.loads(child.stdout.strip().splitlines()[-1])
    assert growth["ner"] < 150 and growth["qa"] < 350, growth  # MiB
