"""A SavedModel's files: version folders written atomically, warmup requests, and loading it as TF Serving does.

**Atomic writes.** TF Serving's model base path layout is `<base>/<version>/`. Everything is written
under a temporary name beside its target, `.incomplete.<host>.<pid>.<random>` (`.<file name>.incomplete...`
for a single file: a .tflite, an .onnx), then renamed. The name records the writer, so the next write
to the same place removes what a killed writer left (its process is gone from this host) and never
touches a live writer's. Folders and files get the permissions a plain mkdir and open give (the umask
applies), so TF Serving running as another user can read them.

**Warmup requests**, `assets.extra/tf_serving_warmup_requests`: TF Serving replays these `PredictionLog`
records when it loads a version, before it serves it, so the first real request does not pay for graph
initialization. A record that fails makes the load fail, which is why `warmup_inputs` checks every
example against the signature's inputs.

**`ServedModel`** loads a version as the model server does (the TF1 loader,
`tf.compat.v1.saved_model.loader.load`, into a session) and runs a signature by feeding and fetching its
tensor names, so what runs there runs here.

Example:
>>> import tensorflow as tf
>>> batches = warmup_inputs(["Hello there."], [tf.TensorSpec([None], tf.string, name="text")])
>>> batches[0]["text"].numpy().tolist()
[b'Hello there.']
>>> write_warmup_requests("version_dir", batches)
PosixPath('version_dir/assets.extra/tf_serving_warmup_requests')
>>> with ServedModel("saved_models/sst2/1") as served:  # doctest: +SKIP
...     served(text=["a great movie"])["label"]
array([b'positive'], dtype=object)
"""

import os
import re
import secrets
import shutil
import socket
from pathlib import Path

import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

_HOST = socket.gethostname()
WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"
MAX_WARMUP_RECORDS = 1000  # TF Serving refuses to load a version with more


def next_version(base_path):
    """1 + the highest integer version folder under `base_path` (1 if there is none)."""
    base = Path(base_path)
    versions = [int(p.name) for p in base.iterdir() if p.name.isdigit()] if base.is_dir() else []
    return max(versions, default=0) + 1


def write_version(base_path, write):
    """Calls `write(tmp_dir)`, then renames tmp_dir to `<base_path>/<next version>`; returns that path.

    The temporary folder sits beside the versions and is not a number, so TF Serving, which polls the
    base path for integer folders, never sees a half-written version. Its files are flushed to disk
    before the rename. An existing version is never overwritten; if `write` fails, nothing is left behind.
    """
    base = Path(base_path)
    base.mkdir(parents=True, exist_ok=True)
    _remove_stale(base, ".incomplete.")
    tmp = _temporary(base, ".incomplete.")
    try:
        tmp.mkdir()
        write(tmp)
        for folder, _, files in os.walk(tmp):
            for name in files:
                _fsync(os.path.join(folder, name))
            _fsync(folder)
        while True:
            target = base / str(next_version(base))
            try:
                os.rename(tmp, target)  # atomic; fails if another export took this number meanwhile
                break
            except OSError:
                if not target.exists():
                    raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync(base)
    return target


def write_file(path, write):
    """Calls `write(tmp_path)`, then renames tmp_path over `path` (atomic: a reader sees the old file or
    the new one, never a part); returns `path`. If `write` fails, nothing is left behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}.incomplete."
    _remove_stale(path.parent, prefix)
    tmp = _temporary(path.parent, prefix)
    try:
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync(path.parent)
    return path


def _temporary(folder, prefix):
    return folder / f"{prefix}{_HOST}.{os.getpid()}.{secrets.token_hex(4)}"


def _remove_stale(folder, prefix):
    """Removes the temporaries named `<prefix><host>.<pid>.<random>` whose writer died on this host."""
    for path in folder.iterdir():
        writer = re.fullmatch(re.escape(prefix) + r"(.+)\.(\d+)\.[0-9a-f]+", path.name)
        if writer and writer[1] == _HOST and not _alive(int(writer[2])):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)  # another export may be removing it too
            else:
                path.unlink(missing_ok=True)


def _alive(pid):
    try:
        os.kill(pid, 0)  # signal 0 only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's
        pass
    return True


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _as_dict(example, names, number):
    """One example as `{input name: value}`: a dict, a tuple/list in input order, or one string."""
    if isinstance(example, dict):
        values = example
    elif isinstance(example, (tuple, list)):
        if len(example) != len(names):
            raise ValueError(f"Warmup example {number} has {len(example)} values for the inputs {names}.")
        values = dict(zip(names, example))
    elif len(names) == 1:
        values = {names[0]: example}
    else:
        raise ValueError(f"Warmup example {number} is one value; the signature takes {names} (give a dict).")
    if sorted(values) != sorted(names):
        raise ValueError(f"Warmup example {number} has inputs {sorted(values)}; the signature takes {names}.")
    return values


def warmup_inputs(examples, input_specs):
    """Each example as a batch of one: `{input name: tf.string tensor}`, checked against `input_specs`.

    An example is a dict keyed by input name, a tuple (or list) of values in input order, or, for a
    signature with one input, just its value; a value is a string (str or bytes) or, for an input
    with more dimensions (multiple-choice `choices`), a list of strings.
    """
    examples = list(examples)
    if not 1 <= len(examples) <= MAX_WARMUP_RECORDS:
        raise ValueError(f"Give 1 to {MAX_WARMUP_RECORDS} warmup examples (None for the default), not {len(examples)}.")
    names = [spec.name for spec in input_specs]
    batches = []
    for number, example in enumerate(examples):
        values = _as_dict(example, names, number)
        batch = {}
        for spec in input_specs:
            try:
                batch[spec.name] = tf.constant([values[spec.name]], tf.string)
            except (TypeError, ValueError) as error:
                raise ValueError(f"Warmup example {number}, input {spec.name!r}: not strings ({error}).") from None
            if not spec.is_compatible_with(batch[spec.name]):
                raise ValueError(
                    f"Warmup example {number}, input {spec.name!r}: shape {batch[spec.name].shape[1:]} per "
                    f"example, the signature takes {spec.shape[1:]}."
                )
        batches.append(batch)
    return batches


def write_warmup_requests(version_dir, batches, signature_name="serving_default"):
    """Writes one `PredictRequest` per batch of `warmup_inputs` to `version_dir`; returns the file's path."""
    path = Path(version_dir) / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for batch in batches:
            request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(signature_name=signature_name))
            for name, value in batch.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value.numpy()))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path


class ServedModel:
    """`served(signature_name="serving_default", **inputs)` -> dict of numpy outputs.

    `signatures` maps each signature name to its `SignatureDef` (inputs, outputs, tensor names).
    """

    def __init__(self, path, tags=("serve",)):
        self._session = tf.compat.v1.Session(graph=tf.Graph())
        with self._session.graph.as_default():
            meta_graph = tf.compat.v1.saved_model.loader.load(self._session, list(tags), str(path))
        self.signatures = dict(meta_graph.signature_def)

    def __call__(self, signature_name="serving_default", **inputs):
        if signature_name not in self.signatures:
            raise KeyError(f"No signature {signature_name!r}; the model has {sorted(self.signatures)}.")
        signature = self.signatures[signature_name]
        if sorted(inputs) != sorted(signature.inputs):
            raise ValueError(f"Signature {signature_name!r} takes {sorted(signature.inputs)}, got {sorted(inputs)}.")
        feed = {signature.inputs[name].name: value for name, value in inputs.items()}
        fetch = {name: output.name for name, output in signature.outputs.items()}
        return self._session.run(fetch, feed)

    def close(self):
        self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
