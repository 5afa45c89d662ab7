"""Hugging Face folders: config.json + model.safetensors (or pytorch_model.bin) + vocab.txt."""

import json
from pathlib import Path

from safetensors.numpy import load_file, save_file

SAFETENSORS = "model.safetensors"
PYTORCH_BIN = "pytorch_model.bin"
# Buffers transformers stores beside the weights; they are derived, not learned.
_BUFFERS = ("embeddings.position_ids", "bert.embeddings.position_ids")


def is_hf_folder(path):
    path = Path(path)
    return (path / "config.json").is_file() and any(
        (path / name).is_file() for name in (SAFETENSORS, PYTORCH_BIN, f"{SAFETENSORS}.index.json")
    )


def read_weights(path):
    """HF-named numpy weights of an HF folder (safetensors preferred, sharded or not)."""
    path = Path(path)
    if (path / SAFETENSORS).is_file():
        state = load_file(path / SAFETENSORS)
    elif (path / f"{SAFETENSORS}.index.json").is_file():
        index = json.loads((path / f"{SAFETENSORS}.index.json").read_text())
        state = {}
        for shard in sorted(set(index["weight_map"].values())):
            state.update(load_file(path / shard))
    else:
        state = _read_pytorch_bin(path / PYTORCH_BIN)
    return {name: value for name, value in state.items() if name not in _BUFFERS}


def _read_pytorch_bin(file):
    try:
        import torch
    except ImportError:
        raise ImportError(
            f"{file} is a PyTorch pickle; reading it needs torch: pip install torch==2.13.0 "
            "(or convert the folder to model.safetensors)."
        ) from None
    state = torch.load(file, map_location="cpu", weights_only=True)
    return {name: tensor.float().numpy() for name, tensor in state.items()}


def write_folder(out_dir, state, config):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(state, out_dir / SAFETENSORS, metadata={"format": "pt"})
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
