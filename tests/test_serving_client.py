"""Serving clients: local, gRPC and REST read the same answers; the remote ones go over real sockets.

TF Serving itself cannot be installed here, so in-process stand-ins answer its gRPC and REST APIs from
the local SavedModel, the way the model server does (GetModelMetadata, Predict, JSON row format).
"""

import base64
import contextlib
import json
import os
import socket
import stat
import struct
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import keras
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import json_format
from helpers import tiny_vocabulary
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, predict_pb2, prediction_service_pb2_grpc

import keras_bert_zoo as kbz
from keras_bert_zoo.cli import main
from keras_bert_zoo.export import serving_client
from keras_bert_zoo.export.predictions import describe, split_examples
from keras_bert_zoo.export.serving_client import GrpcModel, LocalModel, RestModel, ServingError, Signature

DATA = Path(__file__).parent / "data" / "serving"
VOCAB = tiny_vocabulary("good", "bad", "movie", "a", "great", "film", "not")
TEXTS = ["a great movie", "not good", "", "héllo wörld"]
LABELS = ["neg", "neutral", "pos"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(0)
    encoder = kbz.BertEncoder(len(VOCAB), 2, 2, 16, 32, max_sequence_length=32)
    preprocessor = kbz.BertPreprocessor(kbz.BertTokenizer(VOCAB, lowercase=True), sequence_length=16)
    umask = os.umask(0o022)
    try:
        return kbz.export.saved_model(kbz.BertClassifier(encoder, num_classes=3, label_names=LABELS,
                                                         preprocessor=preprocessor),
                                      tmp_path_factory.mktemp("models") / "sst")
    finally:
        os.umask(umask)


@pytest.fixture(scope="module")
def local(exported):
    return LocalModel(exported)


def _signature_def_map(path):
    saved = saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())
    return get_model_metadata_pb2.SignatureDefMap(signature_def=saved.meta_graphs[0].signature_def)


def _run(local, signature_name, columns):
    function = local._loaded.signatures[signature_name]
    return {name: value.numpy() for name, value in function(**{k: tf.constant(v) for k, v in columns.items()}).items()}


class FakePredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    """TF Serving's gRPC PredictionService for one model, answered from the local SavedModel."""

    def __init__(self, name, path, local):
        self.name, self.path, self.local = name, path, local

    def _check(self, spec, context):
        if spec.name != self.name:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Servable not found for request: Latest({spec.name})")

    def GetModelMetadata(self, request, context):
        self._check(request.model_spec, context)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = self.name
        response.metadata["signature_def"].Pack(_signature_def_map(self.path))
        return response

    def Predict(self, request, context):
        """Misbehaves on request: the text "__drop__" drops the last prediction, "__variant__" answers a
        DT_VARIANT tensor, "__slow__" answers after 5 s."""
        self._check(request.model_spec, context)
        columns = {name: tf.make_ndarray(tensor) for name, tensor in request.inputs.items()}
        texts = list(columns["text"])
        if b"__slow__" in texts:
            for _ in range(100):
                if context.is_active():
                    time.sleep(0.05)
        response = predict_pb2.PredictResponse()
        for name, value in _run(self.local, request.model_spec.signature_name, columns).items():
            response.outputs[name].CopyFrom(tf.make_tensor_proto(value[:-1] if b"__drop__" in texts else value))
        if b"__variant__" in texts:
            response.outputs["label"].dtype = types_pb2.DT_VARIANT
        return response


@pytest.fixture(scope="module")
def grpc_server(exported, local):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        FakePredictionService("sst", exported, local), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(None)


def _rest_handler(name, path, local, received):
    """TF Serving's REST API for one model: GET .../metadata, POST ...:predict (row format)."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status, body):
            data = json.dumps(body, default=bytes.decode).encode()  # string tensors as JSON strings
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path != f"/v1/models/{name}/metadata":
                return self._answer(404, {"error": f"Servable not found for request: Latest({self.path})"})
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            response.model_spec.name = name
            response.metadata["signature_def"].Pack(_signature_def_map(path))
            self._answer(200, json_format.MessageToDict(response, preserving_proto_field_name=True))

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(body)
            if self.path != f"/v1/models/{name}:predict":
                return self._answer(404, {"error": f"Servable not found for request: Latest({self.path})"})
            rows = body["instances"]
            if any("__bad__" in row.values() for row in rows):
                return self._answer(400, {"error": "Failed to process element: 0 of 'instances' list."})
            columns = {key: [row[key] for row in rows] for key in rows[0]}
            outputs = _run(local, body["signature_name"], columns)
            count = len(rows) - any("__drop__" in row.values() for row in rows)
            self._answer(200, {"predictions": [{key: value.tolist()[i] for key, value in outputs.items()}
                                               for i in range(count)]})

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture(scope="module")
def rest_server(exported, local):
    received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _rest_handler("sst", exported, local, received))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


@contextlib.contextmanager
def misbehaving_server(answer):
    """A local socket server that takes one HTTP request, then calls `answer(connection)` to misbehave."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve():
        with listener, listener.accept()[0] as connection:
            connection.recv(65536)  # the request: headers and a short JSON body
            try:
                answer(connection)
            except OSError:  # the client hung up
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    thread.join(10)


def _reset(connection):
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST


METADATA_ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n' + b" " * 40


def _trickle(connection):
    for byte in METADATA_ANSWER:  # 4 bytes a second: half a minute in all, never a second between two reads
        connection.sendall(bytes([byte]))
        time.sleep(0.25)


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _dtypes(specs):
    return {name: spec.dtype for name, spec in specs.items()}


def test_an_export_under_umask_022_is_readable_by_tf_serving_running_as_another_user(exported):
    modes = {(path.is_dir(), stat.S_IMODE(path.stat().st_mode)) for path in [exported, *exported.rglob("*")]}
    assert modes == {(True, 0o755), (False, 0o644)}


def test_local_model_reads_its_signature_and_predicts(local):
    assert _dtypes(local.signature.inputs) == {"text": tf.string}
    assert _dtypes(local.signature.outputs) == {"label": tf.string, "label_id": tf.int32, "probabilities": tf.float32}
    assert local.signature.outputs["probabilities"].shape.as_list() == [None, 3]
    predictions = local.predict({"text": TEXTS})
    assert len(predictions) == len(TEXTS)
    for prediction in predictions:
        assert sorted(prediction) == ["label", "label_id", "probabilities"]
        assert prediction["label"] == LABELS[prediction["label_id"]]
        assert abs(sum(prediction["probabilities"]) - 1) < 1e-5
    with pytest.raises(ValueError, match="takes inputs text; got text_a"):
        local.predict({"text_a": ["x"]})


def test_grpc_request_and_a_real_response_decode_like_the_local_run(local):
    request = predict_pb2.PredictRequest.FromString(
        serving_client.predict_request("sst", {"text": TEXTS}, version=3).SerializeToString())
    assert (request.model_spec.name, request.model_spec.signature_name, request.model_spec.version.value) == (
        "sst", "serving_default", 3)
    assert [text.decode() for text in tf.make_ndarray(request.inputs["text"])] == TEXTS
    # The response TF Serving would send for this request: the signature's tensors, as protos, over the wire.
    response = predict_pb2.PredictResponse()
    for name, value in _run(local, "serving_default", {"text": TEXTS}).items():
        response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
    response = predict_pb2.PredictResponse.FromString(response.SerializeToString())
    assert serving_client.parse_predict_response(response) == local.predict({"text": TEXTS})


def test_rest_request_body_is_the_documented_row_format():
    body = serving_client.rest_request_body({"text_b": ["b1", "b2"], "text_a": ["a1", "a2"]})
    assert body == {"signature_name": "serving_default",
                    "instances": [{"text_a": "a1", "text_b": "b1"}, {"text_a": "a2", "text_b": "b2"}]}
    assert json.loads(json.dumps(body)) == body  # plain JSON: strings stay strings
    binary = serving_client.rest_request_body({"image_bytes": ["é"]}, "other")
    assert binary == {"signature_name": "other", "instances": [{"image_bytes": {"b64": "w6k="}}]}


def test_recorded_rest_metadata_and_predictions_parse():
    signature = serving_client.parse_rest_metadata(json.loads((DATA / "metadata_classifier.json").read_text()))
    assert _dtypes(signature.inputs) == {"text": tf.string}
    assert _dtypes(signature.outputs) == {"label": tf.string, "label_id": tf.int32, "probabilities": tf.float32}
    assert signature.outputs["probabilities"].shape.as_list() == [None, 2]
    predictions = serving_client.parse_rest_response(json.loads((DATA / "predict_classifier.json").read_text()),
                                                     signature)
    assert predictions == [  # float32 values, at their shortest decimals
        {"label": "positive", "label_id": 1, "probabilities": [0.043129824, 0.9568702]},
        {"label": "negative", "label_id": 0, "probabilities": [0.8742011, 0.12579887]},
    ]
    assert [describe(p) for p in predictions] == ["positive (0.957)", "negative (0.874)"]
    with pytest.raises(ServingError, match="no signature 'from_ids'; it has __saved_model_init_op, serving_default"):
        serving_client.parse_rest_metadata(json.loads((DATA / "metadata_classifier.json").read_text()), "from_ids")


def test_rest_single_output_bare_values_and_b64_bytes():
    # With one output TF Serving drops its name; binary outputs (names ending in _bytes) come base64-encoded.
    text = {"text": tf.TensorSpec([None], tf.string)}
    regression = Signature(text, {"score": tf.TensorSpec([None], tf.float32)})
    assert serving_client.parse_rest_response({"predictions": [0.5, 1.25]}, regression) == [
        {"score": 0.5}, {"score": 1.25}]
    binary = Signature(text, {"text_bytes": tf.TensorSpec([None], tf.string), "n": tf.TensorSpec([None], tf.int64)})
    body = {"predictions": [{"text_bytes": {"b64": base64.b64encode("né".encode()).decode()}, "n": 2}]}
    assert serving_client.parse_rest_response(body, binary) == [{"n": 2, "text_bytes": "né"}]
    with pytest.raises(ServingError, match="expected TF Serving's {'predictions'"):
        serving_client.parse_rest_response({"error": "boom"}, regression)


def test_grpc_end_to_end_equals_local(grpc_server, local):
    remote = GrpcModel(grpc_server, "sst")
    assert remote.signature == local.signature
    assert remote.predict({"text": TEXTS}) == local.predict({"text": TEXTS})


def test_rest_end_to_end_equals_local(rest_server, local):
    url, received = rest_server
    remote = RestModel(url, "sst")
    assert remote.signature == local.signature
    assert remote.predict({"text": TEXTS}) == local.predict({"text": TEXTS})
    assert received[-1] == {"signature_name": "serving_default", "instances": [{"text": text} for text in TEXTS]}


def test_remote_errors_are_clear_messages(grpc_server, rest_server):
    url, _ = rest_server
    with pytest.raises(
        ServingError, match=r"TF Serving at .* \(gRPC\) does not serve model 'nope': Servable not found"
    ):
        GrpcModel(grpc_server, "nope")
    with pytest.raises(ServingError, match="does not serve model 'nope': Servable not found"):
        RestModel(url, "nope")
    with pytest.raises(ServingError, match=r"answered HTTP 400: Failed to process element"):
        RestModel(url, "sst").predict({"text": ["__bad__"]})
    port = _closed_port()
    with pytest.raises(ServingError, match=f"cannot reach TF Serving at 127.0.0.1:{port}"):
        GrpcModel(f"127.0.0.1:{port}", "sst", timeout=10)
    with pytest.raises(ServingError, match=f"cannot reach TF Serving at http://127.0.0.1:{port}/.*refused"):
        RestModel(f"127.0.0.1:{port}", "sst", timeout=10)


def test_an_answer_with_a_wrong_number_of_predictions_is_refused(exported, grpc_server, rest_server):
    url, _ = rest_server
    texts = {"text": ["a", "b", "__drop__"]}
    with pytest.raises(ServingError, match=r"at 127.0.0.1:\d+ \(gRPC\) returned 2 predictions for 3 examples"):
        GrpcModel(grpc_server, "sst").predict(texts)
    with pytest.raises(ServingError, match=r"at http://127.0.0.1:\d+/v1/models/sst:predict returned 2 predictions for "
                                           r"3 examples"):
        RestModel(url, "sst").predict(texts)
    with pytest.raises(SystemExit, match="^error: TF Serving at .* returned 2 predictions for 3 examples.$"):
        main(["predict", str(exported.parent), *texts["text"], "--rest", url])


def test_an_unknown_grpc_dtype_is_named(grpc_server):
    with pytest.raises(ServingError, match=r"\(gRPC\) answered output 'label' as DT_VARIANT, which has no numpy form"):
        GrpcModel(grpc_server, "sst").predict({"text": ["__variant__"]})


@pytest.mark.parametrize("answer, problem", [
    pytest.param(lambda connection: None, "closed the connection without answering", id="closes"),
    pytest.param(_reset, "reset the connection", id="resets"),
    pytest.param(lambda connection: connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n"),
                 r"answered something that is not HTTP: 'SSH-2.0-OpenSSH_9.6\\r\\n'", id="not-http"),
    pytest.param(lambda connection: connection.sendall(METADATA_ANSWER[:-30]),
                 "cut its answer short after 10 of 40 bytes", id="cut-short"),
])
def test_rest_transport_failures_are_named(answer, problem):
    with misbehaving_server(answer) as url:
        with pytest.raises(ServingError, match=f"^TF Serving at {url}/v1/models/sst/metadata {problem}"):
            RestModel(url, "sst")


def test_timeout_is_a_deadline_for_the_whole_answer(grpc_server):
    with misbehaving_server(_trickle) as url:
        start = time.monotonic()
        with pytest.raises(SystemExit, match=f"^error: TF Serving at {url}/v1/models/sst/metadata did not answer "
                                             "within 1 s.$"):
            main(["predict", "sst", "x", "--rest", url, "--timeout", "1"])
        assert time.monotonic() - start < 2
    start = time.monotonic()
    with pytest.raises(ServingError, match=r"\(gRPC\) did not answer within 1 s"):
        GrpcModel(grpc_server, "sst", timeout=1).predict({"text": ["__slow__"]})
    assert time.monotonic() - start < 2


def test_cli_predict_over_grpc_and_rest_prints_what_the_local_run_prints(exported, local, grpc_server, rest_server,
                                                                          capsys):
    url, _ = rest_server
    base = exported.parent
    outputs = []
    for flags in ([], ["--server", grpc_server], ["--rest", url], ["--rest", url, "--json"]):
        assert main(["predict", str(base), *TEXTS[:2], *flags]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0].splitlines()[0].startswith("a great movie => ")
    assert json.loads(outputs[3]) == [{"inputs": {"text": text}, "outputs": prediction}
                                      for text, prediction in zip(TEXTS[:2], local.predict({"text": TEXTS[:2]}))]
    with pytest.raises(SystemExit, match="error: TF Serving at .* does not serve model 'other'"):
        main(["predict", str(base), "x", "--rest", url, "--model-name", "other"])


def test_multiple_choice_inputs_are_checked_against_the_choices_axis():
    signature = Signature({"context": tf.TensorSpec([None], tf.string), "choices": tf.TensorSpec([None, 2], tf.string)},
                          {})
    with pytest.raises(ValueError, match=r"choices takes 2 texts per example; got \[2, 3\]"):
        serving_client.check_inputs(signature, {"context": ["c", "d"], "choices": [["a", "b"], ["a", "b", "c"]]})
    body = serving_client.rest_request_body({"context": ["c"], "choices": [["a", "b"]]})
    assert body["instances"] == [{"choices": ["a", "b"], "context": "c"}]


def test_predictions_cut_padding_and_read_per_task():
    ner = split_examples({  # the token classifier's outputs for "Paris Ana" and "hi", padded to the longest row
        "words": np.array([[b"Paris", b"Ana"], [b"hi", b""]]), "tags": np.array([[b"B-LOC", b"B-PER"], [b"O", b""]]),
        "word_start": np.array([[0, 6], [0, -1]]), "word_end": np.array([[5, 9], [2, -1]]),
        "num_words": np.array([2, 1]),
        "entity_text": np.array([[b"Paris", b"Ana"], [b"", b""]]), "entity_type": np.array([[b"LOC", b"PER"]] * 2),
        "entity_start": np.array([[0, 6], [-1, -1]]), "entity_end": np.array([[5, 9], [-1, -1]]),
        "entity_score": np.float32([[0.9, 0.75], [0, 0]]), "num_entities": np.array([2, 0]),
        "truncated": np.array([False, False]),
    })
    assert ner[1] == {"words": ["hi"], "tags": ["O"], "word_start": [0], "word_end": [2], "num_words": 1,
                      "entity_text": [], "entity_type": [], "entity_start": [], "entity_end": [], "entity_score": [],
                      "num_entities": 0, "truncated": False}
    assert ner[0]["tags"] == ["B-LOC", "B-PER"]
    assert describe(ner[0]) == "'Paris' LOC 0:5 (0.90); 'Ana' PER 6:9 (0.75)"
    assert describe(ner[1]) == "no entities"
    answer = {"answer": "Tolkien", "answer_start": 0, "answer_end": 7, "score": 0.5, "has_answer": True,
              "null_odds": -2.0}
    assert describe(answer) == "'Tolkien' at characters 0:7 (score 0.500)"
    assert describe({"score": 2.0}) == "score 2.0000"
    assert describe({"answer": "It broke.", "label_id": 1, "probabilities": [0.25, 0.75]}) == "'It broke.' (0.750)"
    assert describe({"mean_embedding": [0.5] * 4, "pooled_output": [0.25] * 2}) == (
        "mean_embedding [4 floats: 0.5000, 0.5000, 0.5000, ...]; pooled_output [2 floats: 0.2500, 0.2500]")
    assert describe({"tags": ["B-PER"], "count": 1}) == "tags=['B-PER']; count=1"
