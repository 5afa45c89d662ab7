"""Hugging Face folders: config.json + model.safetensors (or pytorch_model.bin) + vocab.txt."""

import json
import pickle
from pathlib import Path

from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from keras_bert_zoo.checkpoints.errors import CheckpointError, check_weights

SAFETENSORS = "model.safetensors"
INDEX = f"{SAFETENSORS}.index.json"
PYTORCH_BIN = "pytorch_model.bin"
# Buffers older transformers stored beside the weights (`bert.embeddings.position_ids`, `roberta.embeddings.
# token_type_ids`, ...); they are derived, not learned.
_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")


def is_hf_folder(path):
    path = Path(path)
    return (path / "config.json").is_file() and any(
        (path / name).is_file() for name in (SAFETENSORS, PYTORCH_BIN, INDEX)
    )


def weight_files(path):
    """The files holding an HF folder's weights: model.safetensors, its shards, or pytorch_model.bin."""
    path = Path(path)
    if (path / SAFETENSORS).is_file():
        return [path / SAFETENSORS]
    if (path / INDEX).is_file():
        return _shards(path)
    return [path / PYTORCH_BIN]


def _shards(path):
    """The shard files an index names, refusing any outside the folder (or a hub cache's blobs/)."""
    index = path / INDEX
    try:
        names = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise CheckpointError(f"{index}: not a safetensors shard index ({type(error).__name__}: {error}).") from None
    roots = [path.resolve()]
    if path.parent.name == "snapshots":  # huggingface_hub's cache links snapshot files to ../../blobs/
        roots.append(path.parent.parent.resolve() / "blobs")
    shards = []
    for name in sorted(names, key=str):
        shard = path / str(name)
        if not isinstance(name, str) or Path(name).is_absolute() or ".." in Path(name).parts or not any(
            shard.resolve().is_relative_to(root) for root in roots
        ):
            raise CheckpointError(f"{index}: shard {name!r} is outside {path}; refused.")
        shards.append(shard)
    return shards


def _open(file):
    try:
        return safe_open(file, framework="numpy")
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{file}: not a readable safetensors file ({error}).") from None


def weight_shapes(files):
    """{name: shape} from the safetensors headers, reading no tensor data; None for pytorch_model.bin."""
    if files[0].name == PYTORCH_BIN:
        return None
    shapes = {}
    for file in files:
        with _open(file) as f:
            shapes.update((name, tuple(f.get_slice(name).get_shape())) for name in f.keys())
    return shapes


def read_weights(files):
    """HF-named numpy weights from `weight_files` (every tensor a finite float)."""
    state = {}
    for file in files:
        tensors = _read_pytorch_bin(file) if file.name == PYTORCH_BIN else _read_safetensors(file)
        tensors = {name: value for name, value in tensors.items() if not name.endswith(_BUFFERS)}
        state.update(check_weights(tensors, file))
    return state


def _read_safetensors(file):
    with _open(file) as f:
        try:
            return {name: f.get_tensor(name) for name in f.keys()}
        except (SafetensorError, OSError, TypeError) as error:
            raise CheckpointError(f"{file}: cannot read its tensors ({error}).") from None


def _read_pytorch_bin(file):
    try:
        import torch
    except ImportError:
        raise ImportError(
            f"{file} is a PyTorch pickle; reading it needs torch: pip install torch==2.13.0 "
            "(or convert the folder to model.safetensors)."
        ) from None
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # torch's message would advise weights_only=False: running the file's code
        raise CheckpointError(
            f"{file}: holds objects other than tensors; refused for safety (unpickling them could run "
            "code). Convert the checkpoint to model.safetensors with a tool you trust."
        ) from None
    except (RuntimeError, EOFError, OSError) as error:
        raise CheckpointError(f"{file}: not a readable PyTorch checkpoint ({error}).") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{file}: holds a {type(state).__name__}, not a state dict of tensors.")
    return {name: (t.float() if t.is_floating_point() else t).numpy() for name, t in state.items()}


def write_folder(out_dir, state, config):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(state, out_dir / SAFETENSORS, metadata={"format": "pt"})
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
