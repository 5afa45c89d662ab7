"""Runs an exported model's `serving_default`: in this process, or on TF Serving over gRPC or REST.

The three clients share one interface: `client.signature` holds the TensorSpec of each input and
output, and `client.predict({input name: [text, ...]})` returns one dict of outputs per example (see
`predictions.split_examples`), the same dicts whichever client ran it. The remote clients read the
signature from the server's model metadata, so they need no local copy of the model.
"""

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from keras_bert_zoo.export.predictions import split_examples

SERVING_DEFAULT = "serving_default"


class ServingError(Exception):
    """A model or a server could not answer; the message says which one and why."""


class Signature(NamedTuple):
    """`{name: tf.TensorSpec}` of one signature's inputs and outputs (the batch is the first axis)."""

    inputs: dict
    outputs: dict


def _check_inputs(signature, inputs):
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
        _check_inputs(self.signature, inputs)
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


def parse_predict_response(response):
    """A gRPC PredictResponse → one dict of outputs per example."""
    return split_examples({name: tf.make_ndarray(tensor) for name, tensor in response.outputs.items()})


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
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(target))
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        _model_spec(request.model_spec, model_name, version)
        signature_def_map = get_model_metadata_pb2.SignatureDefMap()
        self._call(self._stub.GetModelMetadata, request).metadata["signature_def"].Unpack(signature_def_map)
        self.signature = signature_from_metadata(signature_def_map, signature_name)

    def predict(self, inputs):
        """`{input name: [text, ...]}` → one dict of outputs per example."""
        _check_inputs(self.signature, inputs)
        request = predict_request(self.model_name, inputs, self.signature_name, self.version)
        return parse_predict_response(self._call(self._stub.Predict, request))

    def _call(self, method, request):
        import grpc

        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as error:
            code, details = error.code(), error.details()
        where = f"TF Serving at {self.target} (gRPC)"
        if code == grpc.StatusCode.UNAVAILABLE:
            raise ServingError(f"cannot reach {where}: {details}")
        if code == grpc.StatusCode.NOT_FOUND:
            raise ServingError(f"{where} does not serve model {self.model_name!r}: {details}")
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            raise ServingError(f"{where} did not answer within {self.timeout:g} s.")
        raise ServingError(f"{where} answered {code.name}: {details}")


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
        _check_inputs(self.signature, inputs)
        body = self._call(f"{self.model_url}:predict", rest_request_body(inputs, self.signature_name))
        return parse_rest_response(body, self.signature)

    def _call(self, url, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            message = _error_message(error.read())
            if error.code == 404:
                raise ServingError(f"TF Serving at {url} does not serve model {self.model_name!r}: {message}") from None
            raise ServingError(f"TF Serving at {url} answered HTTP {error.code}: {message}") from None
        except (urllib.error.URLError, TimeoutError) as error:
            if isinstance(getattr(error, "reason", error), TimeoutError):
                raise ServingError(f"TF Serving at {url} did not answer within {self.timeout:g} s.") from None
            raise ServingError(f"cannot reach TF Serving at {url}: {error.reason}") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ServingError(f"{url} answered something that is not JSON: {text[:200]!r}") from None


def _error_message(body):
    """TF Serving's `{"error": "..."}`, or the raw body from anything else (a proxy's HTML page)."""
    try:
        return json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return body.decode("utf-8", errors="replace")[:200] or "(empty body)"
