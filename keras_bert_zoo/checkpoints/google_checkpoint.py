"""google-research/bert TF checkpoints: bert_config.json + bert_model.ckpt.* + vocab.txt.

This is TensorFlow's own file format, so it is read and written with tf.train / tf.raw_ops. The
caller's family maps names: `from_google(name) -> (HF name, transposed)` and `to_google(HF name)`.
"""

import json
import math
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_bert_zoo.checkpoints.errors import CheckpointError, check_weights

CONFIG = "bert_config.json"
PREFIX = "bert_model.ckpt"
# Variables google-research/bert checkpoints carry that are not weights.
_NOT_WEIGHTS = re.compile(r"(^global_step$|/adam_[mv]$|^good_steps$|^loss_scale$)")


def is_weight(google_name):
    return not _NOT_WEIGHTS.search(google_name)


def checkpoint_prefix(path):
    """The checkpoint prefix inside a Google folder (bert_model.ckpt, or the only *.index there)."""
    path = Path(path)
    if (path / f"{PREFIX}.index").is_file():
        return path / PREFIX
    indexes = sorted(path.glob("*.index"))
    if len(indexes) == 1:
        return indexes[0].with_suffix("")
    return None


def is_google_folder(path):
    return (Path(path) / CONFIG).is_file() and checkpoint_prefix(path) is not None


def _reader(path):
    """A checkpoint reader, after checking the .data files hold every byte the index promises."""
    prefix = checkpoint_prefix(path)
    try:
        reader = tf.train.load_checkpoint(str(prefix))
    except (tf.errors.OpError, ValueError) as error:
        raise CheckpointError(f"{prefix}.index: not a readable TF checkpoint ({error}).") from None
    shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
    needed = sum(math.prod(shapes[name]) * dtypes[name].size for name in shapes if dtypes[name] != tf.string)
    data = sorted(prefix.parent.glob(f"{prefix.name}.data-*"))
    held = sum(file.stat().st_size for file in data)
    if held < needed:
        raise CheckpointError(
            f"{', '.join(map(str, data)) or f'{prefix}.data-*'}: {held} bytes, but {prefix.name}.index "
            f"describes {needed} bytes of tensors; the checkpoint is truncated or incomplete."
        )
    return prefix, reader


def weight_shapes(path, from_google):
    """{HF name: HF shape} of a Google checkpoint's weights, from its index alone."""
    _, reader = _reader(path)
    shapes = {}
    for google_name, shape in reader.get_variable_to_shape_map().items():
        if is_weight(google_name):
            hf_name, transposed = from_google(google_name)
            shapes[hf_name] = tuple(reversed(shape)) if transposed else tuple(shape)
    return shapes


def read_weights(path, from_google, to_google):
    """HF-named numpy weights of a Google checkpoint (optimizer slots and global_step dropped)."""
    prefix, reader = _reader(path)
    state = {}
    for google_name in reader.get_variable_to_shape_map():
        if is_weight(google_name):
            hf_name, transposed = from_google(google_name)
            try:
                value = reader.get_tensor(google_name)
            except (tf.errors.OpError, IndexError, ValueError) as error:
                raise CheckpointError(f"{prefix}: cannot read {google_name} ({error}).") from None
            state[hf_name] = value.T if transposed else value
    return check_weights(state, prefix, lambda name: to_google(name)[0])


def write_checkpoint(out_dir, state, config, to_google):
    """Writes HF-named `state` (with the `bert.` prefix) as bert_model.ckpt + bert_config.json."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names, tensors = [], []
    for hf_name, value in sorted(state.items()):
        google_name, transposed = to_google(hf_name)
        names.append(google_name)
        tensors.append(tf.constant(np.ascontiguousarray(value.T if transposed else value)))
    tf.raw_ops.SaveV2(
        prefix=str(out_dir / PREFIX),
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=tensors,
    )
    (out_dir / CONFIG).write_text(json.dumps(config, indent=2) + "\n")
