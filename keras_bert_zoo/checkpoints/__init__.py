"""Checkpoint files in and out: Hugging Face folders and google-research/bert TF checkpoints.

This package knows files, not models: `read` turns a folder into (config.json dict, {HF name: numpy
array}) with every check a file needs (a CheckpointError naming the file, sizes against the headers
before any tensor is read, the vocabulary's size), `weight_map` copies tensors into a model it is
handed and out of it, `write_hf` / `write_google` write folders. What a name means for a model
family (its config keys, weight names) comes from the caller: `keras_bert_zoo.loading` hands it the
family from `keras_bert_zoo.models.families`. Loading a model is `kbz.load`:

>>> import keras_bert_zoo as kbz  # doctest: +SKIP
>>> encoder = kbz.load("path/to/hf_or_google_folder", model_class="backbone")  # doctest: +SKIP
>>> kbz.save_hf(encoder, "out/hf", vocabulary="path/to/vocab.txt")  # doctest: +SKIP
"""

import dataclasses
import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from keras_bert_zoo.checkpoints import google_checkpoint, hf_folder
from keras_bert_zoo.checkpoints.weight_map import normalize_hf_names
from keras_bert_zoo.errors import CheckpointError, CheckpointMismatchError
from keras_bert_zoo.vocabulary import read_vocabulary

logger = logging.getLogger("keras_bert_zoo")
VOCAB = "vocab.txt"


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint folder holds, read and checked."""

    folder: Path
    config_file: Path
    config: dict  # the config file's JSON
    state: dict  # {HF name: numpy array}; a Google checkpoint's names mapped to HF ones
    display: Callable  # HF name -> the name in the checkpoint's own convention (for messages)


def config_file(path):
    """The config file of a checkpoint folder (HF config.json or Google bert_config.json), or None."""
    path = Path(path)
    if hf_folder.is_hf_folder(path):
        return path / "config.json"
    if google_checkpoint.is_google_folder(path):
        return path / google_checkpoint.CONFIG
    return None


def read_config_json(path):
    """The JSON object of a config file (config.json, tokenizer.json, ...); CheckpointError naming it when it
    is not one."""
    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: not valid JSON ({error}).") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: holds a JSON {type(config).__name__}, not an object.")
    return config


def read(path, family_of):
    """The `Checkpoint` of a Hugging Face or Google folder, every file checked before the next is read.

    `family_of(config_json)` gives what the names mean (a `keras_bert_zoo.models.family.Family`, or any
    object with its `config_from_hf`, `check_sizes`, `hf_names`, `from_google`, `to_google`). The config
    is checked against the weights' shapes (from file headers) before any tensor is read: a bad file
    raises CheckpointError naming it.
    """
    path = Path(path)
    file = config_file(path)
    if file is None:
        raise FileNotFoundError(
            f"{path} is not a checkpoint folder: expected config.json + model.safetensors (or "
            "pytorch_model.bin) for Hugging Face, or bert_config.json + bert_model.ckpt.index/.data-* "
            "for a google-research/bert checkpoint."
        )
    config = read_config_json(file)
    family = family_of(config)
    kwargs = family.config_from_hf(config, file)  # names what is wrong with it
    check_vocabulary(path, kwargs["vocabulary_size"])
    if file.name == "config.json":
        files = hf_folder.weight_files(path)
        shapes, state = hf_folder.weight_shapes(files), None
        if shapes is None:  # a pytorch_model.bin has no header: its shapes come with its tensors
            state = hf_folder.read_weights(files)
            shapes = {name: value.shape for name, value in state.items()}
        family.check_sizes(config, normalize_hf_names(shapes), file, ", ".join(map(str, files)))
        state = family.hf_names(normalize_hf_names(hf_folder.read_weights(files) if state is None else state))
        display = str
    else:
        display = lambda name: family.to_google(name)[0]  # noqa: E731
        family.check_sizes(config, google_checkpoint.weight_shapes(path, family.from_google), file,
                           google_checkpoint.checkpoint_prefix(path), display)
        state = google_checkpoint.read_weights(path, family.from_google, family.to_google)
    return Checkpoint(path, file, config, state, display)


def check_vocabulary(path, vocabulary_size):
    """Refuses a folder whose vocab.txt has another size than its weights' embedding."""
    vocab = Path(path) / VOCAB
    if vocab.is_file():
        tokens = read_vocabulary(vocab)
        if len(tokens) != vocabulary_size:
            raise CheckpointError(
                f"{vocab}: has {len(tokens)} tokens but the config says vocab_size={vocabulary_size}; "
                "the vocabulary does not belong to these weights."
            )


def write_vocabulary(out_dir, vocabulary, vocabulary_size):
    """Writes `vocabulary` (a vocab.txt path or a token list) as out_dir/vocab.txt, checking its size."""
    if vocabulary is None:
        logger.warning("No vocabulary given: %s has no vocab.txt.", out_dir)
        return
    tokens = read_vocabulary(vocabulary)
    if len(tokens) != vocabulary_size:
        raise ValueError(
            f"The vocabulary has {len(tokens)} tokens but the model's embedding has {vocabulary_size} rows."
        )
    if isinstance(vocabulary, (str, Path)):
        if Path(vocabulary).resolve() != (Path(out_dir) / VOCAB).resolve():
            shutil.copyfile(vocabulary, Path(out_dir) / VOCAB)
    else:
        (Path(out_dir) / VOCAB).write_text("\n".join(tokens) + "\n", encoding="utf-8")


def write_hf(out_dir, state, config, vocabulary=None):
    """Writes an HF folder: model.safetensors, config.json (+ vocab.txt of config's vocab_size)."""
    hf_folder.write_folder(out_dir, state, config)
    write_vocabulary(out_dir, vocabulary, config["vocab_size"])
    return Path(out_dir)


def write_google(out_dir, state, config, to_google, vocabulary=None):
    """Writes bert_config.json + bert_model.ckpt.* (+ vocab.txt); `to_google` maps HF names to Google's."""
    google_checkpoint.write_checkpoint(out_dir, state, config, to_google)
    write_vocabulary(out_dir, vocabulary, config["vocab_size"])
    return Path(out_dir)


__all__ = [
    "Checkpoint",
    "CheckpointError",
    "CheckpointMismatchError",
    "VOCAB",
    "check_vocabulary",
    "config_file",
    "read",
    "read_config_json",
    "write_google",
    "write_hf",
    "write_vocabulary",
]
