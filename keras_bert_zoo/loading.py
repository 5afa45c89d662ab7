"""`kbz.load`: one call from whatever a user holds to the model it holds.

Example:
>>> import keras_bert_zoo as kbz
>>> kbz.load("all_minilm_l6_v2").num_layers  # a preset, with its real weights
6
>>> kbz.load("bert_tiny_uncased", weights=None).hidden_dim  # a preset's architecture, random weights
128
"""

from pathlib import Path

import keras

from keras_bert_zoo import checkpoints, presets
from keras_bert_zoo.encoder import BertEncoder
from keras_bert_zoo.preset_weights import AUTO


def load(source, weights=AUTO, **overrides):
    """The model `source` holds: a preset name, a Hugging Face folder, a Google checkpoint folder or a `.keras` file.

    A preset gives a `BertEncoder` with its real weights (`weights` as in `BertEncoder.from_preset`; None
    for a random start). A Hugging Face folder gives the class its config.json names, head weights and
    label names included (`checkpoints.load`); a Google checkpoint a BertPretrainer when it has the
    pretraining heads, else a BertEncoder; a `.keras` file the model saved in it.
    """
    if isinstance(source, str) and source in presets.names():
        return BertEncoder.from_preset(source, weights=weights, **overrides)
    path = Path(source)
    if path.suffix == ".keras" and path.is_file():
        return keras.saving.load_model(path)
    if path.is_dir():
        return checkpoints.load(path, **overrides)
    raise FileNotFoundError(f"{source} is not a preset (keras-bert-zoo presets), a .keras file or a checkpoint "
                            "folder (Hugging Face: config.json + model.safetensors; Google: bert_config.json + "
                            "bert_model.ckpt.*).")
