"""The greedy decoding loop over an `onnx_generator` folder (numpy + onnxruntime), and the names of its files.

Kept apart from `onnx_generator_export` so that running a folder never imports tf2onnx.

Example:
>>> sorted((ENCODER_FILE, STEP_FILE, CONFIG_FILE))
['decoder_step.onnx', 'encoder.onnx', 'generator.json']
"""

import json
from pathlib import Path

import numpy as np

ENCODER_FILE, STEP_FILE, CONFIG_FILE = "encoder.onnx", "decoder_step.onnx", "generator.json"


def is_generator_folder(path):
    """Whether `path` is an `onnx_generator` folder (it holds `generator.json`)."""
    return (Path(path) / CONFIG_FILE).is_file()


class OnnxGenerator:
    """Greedy decoding over an `onnx_generator` folder with onnxruntime: the SavedModel's `token_ids`.

    Example:
    >>> OnnxGenerator("summarizer_onnx").generate(ids, mask, max_length=32)  # doctest: +SKIP
    """

    def __init__(self, folder):
        import onnxruntime  # loaded for ONNX files only

        folder = Path(folder)
        self.config = json.loads((folder / CONFIG_FILE).read_text())
        options = {"providers": ["CPUExecutionProvider"]}
        self.encoder = onnxruntime.InferenceSession(str(folder / ENCODER_FILE), **options)
        self.step = onnxruntime.InferenceSession(str(folder / STEP_FILE), **options)

    def generate(self, encoder_token_ids, encoder_padding_mask, max_length=None):
        """Token ids [batch, length <= max_length]: the start token, then the most likely token each step; after a
        row's end token, padding (as `model.generate` and the SavedModel's `token_ids`). `max_length`: default the
        export's (`onnx_generator(..., generation={"max_length": ...})`)."""
        config = self.config
        max_length = max_length or config.get("max_length", 20)
        if not 2 <= max_length <= config["max_positions"]:
            raise ValueError(f"max_length={max_length} must be in [2, {config['max_positions']}].")
        ids = np.asarray(encoder_token_ids, np.int32)
        mask = np.asarray(encoder_padding_mask, np.int32)
        (cross_cache,) = self.encoder.run(None, {"encoder_token_ids": ids, "encoder_padding_mask": mask})
        batch = len(ids)
        self_cache = np.zeros((config["num_layers"], batch, 2, config["num_heads"], max_length, config["head_dim"]),
                              np.float32)
        tokens = np.full((batch, max_length), config["pad_token_id"], np.int32)
        tokens[:, 0] = config["start_token_id"]
        done = np.zeros(batch, bool)
        length = 1
        while length < max_length and not done.all():
            logits, self_cache = self.step.run(None, {
                "token_ids": tokens[:, length - 1:length], "index": np.array(length - 1, np.int32),
                "encoder_padding_mask": mask, "self_cache": self_cache, "cross_cache": cross_cache})
            chosen = np.where(done, config["pad_token_id"], logits.argmax(axis=-1)).astype(np.int32)
            tokens[:, length] = chosen
            done |= chosen == config["end_token_id"]
            length += 1
        return tokens[:, :length]
