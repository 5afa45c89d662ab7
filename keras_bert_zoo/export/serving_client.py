"""Runs an exported model's `serving_default`: in this process, or on TF Serving over gRPC or REST.

The three clients share one interface: `client.signature` holds the TensorSpec of each input and
output, and `client.predict({input name: [text, ...]})` returns one dict of outputs per example (see
`predictions.split_examples`), the same dicts whichever client ran it. The remote clients read the
signature from the server's model metadata, so they need no local copy of the model. Whatever goes wrong
on the server or the way to it raises a `ServingError` naming the server and the problem; `timeout` bounds
each request, the whole answer included.
"""

import base64
import contextlib
import http.client
import json
import socket
import threading
import time
import urllib.parse
from typing import NamedTuple

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from keras_bert_zoo.export.predictions import split_examples

SERVING_DEFAULT = "serving_default"


class ServingError(Exception):
    """A model or a server could not answer; the message says which one and why."""


class Signature(NamedTuple):
    """`{name: tf.TensorSpec}` of one signature's inputs and outputs (the batch is the first axis)."""

    inputs: dict
    outputs: dict


def check_inputs(signature, inputs):
    expected, given = sorted(signature.inputs), sorted(inputs)
    if expected != given:
        raise ValueError(f"the signature takes inputs {', '.join(expected)}; got {', '.join(given) or 'none'}.")
    sizes = {name: len(texts) for name, texts in inputs.items()}
    if len(set(sizes.values())) != 1 or 0 in sizes.values():
        raise ValueError(f"every input needs the same number of examples, at least one; got {sizes}.")
    for name, examples in inputs.items():  # e.g. multiple choice: `choices` [batch, num_choices]
        shape = signature.inputs[name].shape
        if shape.rank == 2 and shape[1] is not None and any(len(texts) != shape[1] for texts in examples):
            raise ValueError(f"{name} takes {shape[1]} texts per example; got {[len(texts) for texts in examples]}.")


def _one_per_example(predictions, inputs, where):
    """`predictions`, after checking that the server answered one per example."""
    count = len(next(iter(inputs.values())))
    if len(predictions) != count:
        raise ServingError(f"{where} returned {len(predictions)} predictions for {count} examples.")
    return predictions


class LocalModel:
    """A signature of a SavedModel folder, run in this process (tf.saved_model.load).

    Example:
    >>> model = LocalModel("saved_models/sst2/1")  # doctest: +SKIP
    >>> model.predict({"text": ["a great movie"]})  # doctest: +SKIP
    [{'label': 'positive', 'label_id': 1, 'probabilities': [0.04, 0.96]}]
    """

    def __init__(self, path, signature_name=SERVING_DEFAULT):
        try:
            self._loaded = tf.saved_model.load(str(path))  # held: the signature's variables live in it
        except OSError as error:
            raise ServingError(f"cannot load a SavedModel from {path}: {error}") from None
        if signature_name not in self._loaded.signatures:
            raise ServingError(f"{path} has no signature {signature_name!r}; it has "
                               f"{', '.join(self._loaded.signatures) or 'none'}.")
        self._function = self._loaded.signatures[signature_name]
        self.signature = Signature(dict(self._function.structured_input_signature[1]),
                                   dict(self._function.structured_outputs))

    def predict(self, inputs):
        """`{input name: [text, ...]}` → one dict of outputs per example."""
        check_inputs(self.signature, inputs)
        tensors = {name: tf.constant(texts, self.signature.inputs[name].dtype) for name, texts in inputs.items()}
        return split_examples({name: value.numpy() for name, value in self._function(**tensors).items()})


def _model_spec(spec, model_name, version, signature_name=None):
    spec.name = model_name
    if version is not None:
        spec.version.value = version
    if signature_name is not None:
        spec.signature_name = signature_name


def signature_from_metadata(signature_def_map, signature_name=SERVING_DEFAULT):
    """The `Signature` named `signature_name` in a SignatureDefMap proto (TF Serving's model metadata)."""
    if signature_name not in signature_def_map.signature_def:
        raise ServingError(f"the served model has no signature {signature_name!r}; it has "
                           f"{', '.join(sorted(signature_def_map.signature_def)) or 'none'}.")
    signature = signature_def_map.signature_def[signature_name]

    def specs(infos):
        return {name: tf.TensorSpec(tf.TensorShape(info.tensor_shape), tf.dtypes.as_dtype(info.dtype), name)
                for name, info in infos.items()}

    return Signature(specs(signature.inputs), specs(signature.outputs))


def predict_request(model_name, inputs, signature_name=SERVING_DEFAULT, version=None):
    """The gRPC PredictRequest for `{input name: [text, ...]}` (latest version unless `version`)."""
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    _model_spec(request.model_spec, model_name, version, signature_name)
    for name, texts in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(texts, dtype=tf.string))
    return request


def parse_predict_response(response, where="the server"):
    """A gRPC PredictResponse → one dict of outputs per example; `where` names the server in errors."""
    outputs = {}
    for name, tensor in response.outputs.items():
        try:
            outputs[name] = tf.make_ndarray(tensor)
        except (KeyError, TypeError):  # a dtype numpy has no form for (a variant, a resource) or an unknown one
            dtype = types_pb2.DataType.Name(tensor.dtype) if tensor.dtype in types_pb2.DataType.values() else (
                f"dtype {tensor.dtype}")
            raise ServingError(f"{where} answered output {name!r} as {dtype}, which has no numpy form.") from None
    return split_examples(outputs)


class GrpcModel:
    """A model served by TF Serving, called over gRPC (default port 8500).

    Example:
    >>> model = GrpcModel("localhost:8500", "sst2")  # doctest: +SKIP
    >>> model.predict({"text": ["a great movie"]})  # doctest: +SKIP
    """

    def __init__(self, target, model_name, version=None, signature_name=SERVING_DEFAULT, timeout=30.0):
        # grpc is imported by the remote clients only, so `import keras_bert_zoo` does not load it.
        import grpc
        from tensorflow_serving.apis import get_model_metadata_pb2, prediction_service_pb2_grpc

        self.target, self.model_name, self.version = target, model_name, version
        self.signature_name, self.timeout = signature_name, timeout
        self._where = f"TF Serving at {target} (gRPC)"
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(target))
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        _model_spec(request.model_spec, model_name, version)
        signature_def_map = get_model_metadata_pb2.SignatureDefMap()
        self._call(self._stub.GetModelMetadata, request).metadata["signature_def"].Unpack(signature_def_map)
        self.signature = signature_from_metadata(signature_def_map, signature_name)

    def predict(self, inputs):
        """`{input name: [text, ...]}` → one dict of outputs per example."""
        check_inputs(self.signature, inputs)
        request = predict_request(self.model_name, inputs, self.signature_name, self.version)
        predictions = parse_predict_response(self._call(self._stub.Predict, request), self._where)
        return _one_per_example(predictions, inputs, self._where)

    def _call(self, method, request):
        import grpc

        try:
            return method(request, timeout=self.timeout)  # a deadline for the whole call
        except grpc.RpcError as error:
            code, details = error.code(), error.details()
        if code == grpc.StatusCode.UNAVAILABLE:
            raise ServingError(f"cannot reach {self._where}: {details}")
        if code == grpc.StatusCode.NOT_FOUND:
            raise ServingError(f"{self._where} does not serve model {self.model_name!r}: {details}")
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            raise ServingError(f"{self._where} did not answer within {self.timeout:g} s.")
        raise ServingError(f"{self._where} answered {code.name}: {details}")


def _to_json(name, text):
    # TF Serving's JSON carries binary strings base64-encoded, and only for names ending in "_bytes".
    return {"b64": base64.b64encode(text.encode()).decode()} if name.endswith("_bytes") else text


def _from_json(value):
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return [_from_json(item) for item in value]
    return value


def rest_request_body(inputs, signature_name=SERVING_DEFAULT):
    """The JSON body of a REST `:predict` for `{input name: [text, ...]}`, in the row ("instances") format."""
    names = sorted(inputs)
    rows = zip(*(inputs[name] for name in names))
    return {"signature_name": signature_name,
            "instances": [{name: _to_json(name, text) for name, text in zip(names, row)} for row in rows]}


def parse_rest_response(body, signature):
    """A REST `:predict` answer (`{"predictions": [...]}`) → one dict of outputs per example.

    Values take the signature's dtypes, so floats are the float32 values the gRPC and local clients see.
    """
    if not isinstance(body, dict) or not isinstance(body.get("predictions"), list):
        raise ServingError(f"expected TF Serving's {{'predictions': [...]}}, got {str(body)[:200]}")
    names = list(signature.outputs)
    rows = body["predictions"]
    if len(names) == 1:  # with a single output TF Serving sends bare values, without the output's name
        rows = [{names[0]: value} for value in rows]
    elif not all(isinstance(row, dict) and set(row) == set(names) for row in rows):
        raise ServingError(f"expected predictions with outputs {', '.join(sorted(names))}, got {str(rows)[:200]}")
    return split_examples({name: np.array([_from_json(row[name]) for row in rows],
                                          dtype=signature.outputs[name].dtype.as_numpy_dtype) for name in names})


def parse_rest_metadata(body, signature_name=SERVING_DEFAULT):
    """The `Signature` in a REST `/metadata` answer: GetModelMetadataResponse as JSON (the Any unpacked)."""
    from google.protobuf import json_format
    from tensorflow_serving.apis import get_model_metadata_pb2

    try:
        signature_def_map = json_format.ParseDict(body["metadata"]["signature_def"],
                                                  get_model_metadata_pb2.SignatureDefMap(), ignore_unknown_fields=True)
    except (KeyError, TypeError, json_format.ParseError) as error:
        raise ServingError(f"expected TF Serving's model metadata, got {str(body)[:200]} ({error!r})") from None
    return signature_from_metadata(signature_def_map, signature_name)


class RestModel:
    """A model served by TF Serving, called over its REST API (default port 8501); standard library only.

    Example:
    >>> model = RestModel("http://localhost:8501", "sst2")  # doctest: +SKIP
    >>> model.predict({"text": ["a great movie"]})  # doctest: +SKIP
    """

    def __init__(self, url, model_name, version=None, signature_name=SERVING_DEFAULT, timeout=30.0):
        url = url if "://" in url else f"http://{url}"
        self.model_url = f"{url.rstrip('/')}/v1/models/{urllib.parse.quote(model_name)}"
        if version is not None:
            self.model_url += f"/versions/{version}"
        self.model_name, self.signature_name, self.timeout = model_name, signature_name, timeout
        self.signature = parse_rest_metadata(self._call(f"{self.model_url}/metadata"), signature_name)

    def predict(self, inputs):
        """`{input name: [text, ...]}` → one dict of outputs per example."""
        check_inputs(self.signature, inputs)
        url = f"{self.model_url}:predict"
        body = self._call(url, rest_request_body(inputs, self.signature_name))
        return _one_per_example(parse_rest_response(body, self.signature), inputs, f"TF Serving at {url}")

    def _call(self, url, body=None):
        """The JSON answer to a GET of `url`, or to a POST of `body`."""
        status, text = _http_exchange(url, None if body is None else json.dumps(body).encode(), self.timeout)
        if status == 404:
            raise ServingError(f"TF Serving at {url} does not serve model {self.model_name!r}: {_error_message(text)}")
        if not 200 <= status < 300:
            raise ServingError(f"TF Serving at {url} answered HTTP {status}: {_error_message(text)}")
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ServingError(f"{url} answered something that is not JSON: {text[:200]!r}") from None


def _http_exchange(url, data, timeout):
    """(HTTP status, body) of a GET of `url` (a POST of `data`), all of it within `timeout` seconds.

    A socket timeout bounds each read, not the answer: a server that sends a byte now and then never
    trips it. So a timer shuts the connection down when the time is up, which ends the read waiting.
    """
    parts = urllib.parse.urlsplit(url)
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(parts.netloc, timeout=timeout)
    deadline = time.monotonic() + timeout
    late = ServingError(f"TF Serving at {url} did not answer within {timeout:g} s.")
    try:
        connection.connect()
    except TimeoutError:
        raise late from None
    except OSError as error:
        raise ServingError(f"cannot reach TF Serving at {url}: {error}") from None
    expired = threading.Event()

    def expire(sock=connection.sock):
        expired.set()
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(deadline - time.monotonic(), expire)
    watchdog.start()
    problem = None
    try:
        connection.request("GET" if data is None else "POST", parts.path, body=data,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = response.status, response.read()
    except (http.client.HTTPException, OSError) as error:
        problem = error
    finally:
        watchdog.cancel()
        connection.close()
    if expired.is_set() or isinstance(problem, TimeoutError):
        raise late
    if problem is not None:
        raise ServingError(f"TF Serving at {url} {_broken(problem)}")
    return answer


def _broken(error):
    """What the server did, by the transport error it caused."""
    if isinstance(error, http.client.RemoteDisconnected):
        return "closed the connection without answering"
    if isinstance(error, http.client.BadStatusLine):
        return f"answered something that is not HTTP: {error.line[:80]!r}"
    if isinstance(error, http.client.IncompleteRead):
        received = len(error.partial)
        of = "" if error.expected is None else f" of {received + error.expected}"
        return f"cut its answer short after {received}{of} bytes"
    if isinstance(error, ConnectionResetError):
        return "reset the connection"
    return f"broke the exchange off: {type(error).__name__}: {error}"


def _error_message(body):
    """TF Serving's `{"error": "..."}`, or the raw body from anything else (a proxy's HTML page)."""
    try:
        return json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return body.decode("utf-8", errors="replace")[:200] or "(empty body)"
