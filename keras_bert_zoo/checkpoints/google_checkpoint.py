"""google-research/bert TF checkpoints: bert_config.json + bert_model.ckpt.* + vocab.txt.

This is TensorFlow's own file format, so it is read and written with tf.train / tf.raw_ops.
"""

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_bert_zoo.checkpoints.google_names import from_google, is_weight, to_google

CONFIG = "bert_config.json"
PREFIX = "bert_model.ckpt"


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


def read_weights(path):
    """HF-named numpy weights of a Google checkpoint (optimizer slots and global_step dropped)."""
    reader = tf.train.load_checkpoint(str(checkpoint_prefix(path)))
    state = {}
    for google_name in reader.get_variable_to_shape_map():
        if is_weight(google_name):
            hf_name, transposed = from_google(google_name)
            value = reader.get_tensor(google_name)
            state[hf_name] = value.T if transposed else value
    return state


def write_checkpoint(out_dir, state, config):
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
