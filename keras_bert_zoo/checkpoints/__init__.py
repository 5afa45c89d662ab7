"""Real checkpoints in and out: Hugging Face folders and google-research/bert TF checkpoints.

>>> import keras_bert_zoo as kbz  # doctest: +SKIP
>>> encoder = kbz.BertEncoder.from_checkpoint("path/to/hf_or_google_folder")  # doctest: +SKIP
>>> kbz.save_hf(encoder, "out/hf", vocabulary="path/to/vocab.txt")  # doctest: +SKIP
"""

import json
import logging
import shutil
from pathlib import Path

from keras_bert_zoo.checkpoints import architectures, google_checkpoint, hf_folder
from keras_bert_zoo.checkpoints.config import check_sizes, encoder_config_json, read_config
from keras_bert_zoo.checkpoints.errors import CheckpointError
from keras_bert_zoo.checkpoints.google_names import to_google
from keras_bert_zoo.checkpoints.weight_map import CheckpointMismatchError, assign, extract, normalize_hf_names
from keras_bert_zoo.encoder import BertEncoder
from keras_bert_zoo.models import BertPretrainer
from keras_bert_zoo.vocabulary import read_vocabulary

logger = logging.getLogger("keras_bert_zoo")
VOCAB = "vocab.txt"


def read_checkpoint(path):
    """(BertEncoder kwargs, {`bert.`-prefixed HF name: array}, name renderer) for a checkpoint folder.

    Every file is checked before the next is read, and the config against the weights' shapes
    (read from file headers) before any tensor is: a bad file raises CheckpointError naming it.
    """
    config, _, state, display = _read(path)
    return config, state, display


def _read(path):
    """`read_checkpoint` plus the config file's own JSON (labels, `architectures`)."""
    path = Path(path)
    if hf_folder.is_hf_folder(path):
        config_file, files = path / "config.json", hf_folder.weight_files(path)
        config = read_config(config_file)
        _check_vocabulary(path, config["vocabulary_size"])
        shapes, state = hf_folder.weight_shapes(files), None
        if shapes is None:  # a pytorch_model.bin has no header: its shapes come with its tensors
            state = hf_folder.read_weights(files)
            shapes = {name: value.shape for name, value in state.items()}
        check_sizes(config, normalize_hf_names(shapes), config_file, ", ".join(map(str, files)))
        state = normalize_hf_names(hf_folder.read_weights(files) if state is None else state)
        encoder_roots = ("embeddings.", "encoder.", "pooler.")
        state = {f"bert.{k}" if k.startswith(encoder_roots) else k: v for k, v in state.items()}
        display = str
    elif google_checkpoint.is_google_folder(path):
        config_file = path / google_checkpoint.CONFIG
        config = read_config(config_file)
        _check_vocabulary(path, config["vocabulary_size"])
        display = lambda name: to_google(name)[0]  # noqa: E731
        prefix = google_checkpoint.checkpoint_prefix(path)
        check_sizes(config, google_checkpoint.weight_shapes(path), config_file, prefix, display)
        state = google_checkpoint.read_weights(path)
    else:
        raise FileNotFoundError(
            f"{path} is not a checkpoint folder: expected config.json + model.safetensors (or "
            "pytorch_model.bin) for Hugging Face, or bert_config.json + bert_model.ckpt.index/.data-* "
            "for a google-research/bert checkpoint."
        )
    return config, json.loads(config_file.read_text(encoding="utf-8")), state, display


def _check_vocabulary(path, vocabulary_size):
    vocab = Path(path) / VOCAB
    if vocab.is_file():
        tokens = read_vocabulary(vocab)
        if len(tokens) != vocabulary_size:
            raise CheckpointError(
                f"{vocab}: has {len(tokens)} tokens but the config says vocab_size={vocabulary_size}; "
                "the vocabulary does not belong to these weights."
            )


def load(path, **overrides):
    """The model a checkpoint folder holds, head weights and label names included.

    A Hugging Face folder's `architectures[0]` picks the class (see `architectures.ARCHITECTURES`):
    `BertModel` -> BertEncoder, `BertForPreTraining` -> BertPretrainer, `BertForMaskedLM` -> an MLM-only
    BertPretrainer, `BertForSequenceClassification` -> BertClassifier (a regressor for one label),
    `BertForTokenClassification` -> BertTokenClassifier, `BertForQuestionAnswering` -> BertSpanQA,
    `BertForMultipleChoice` -> BertMultipleChoice. A folder without it (Google's checkpoints) holds a
    pretrainer when it has pretraining heads, else an encoder. `overrides` go to the task model.
    """
    config, config_json, state, display = _read(path)
    architecture = architectures.of_checkpoint(config_json, state, path)
    if architecture.name == "BertModel":
        return load_encoder(path)
    model = architectures.build(architecture, BertEncoder(**config), config_json, **overrides)
    assign(model, state, str(path), display)
    return model


def load_encoder(path, **overrides):
    """A BertEncoder with the weights of an HF folder or Google checkpoint (heads are left out)."""
    config, state, display = read_checkpoint(path)
    encoder = BertEncoder(**{**config, **overrides})
    heads = sorted(name for name in state if not name.startswith("bert."))
    if heads:
        logger.info("Loading only the encoder of %s; not loaded: %s", path, ", ".join(heads))
    encoder_state = {name[len("bert."):]: v for name, v in state.items() if name.startswith("bert.")}
    pooler = {"pooler.dense.weight", "pooler.dense.bias"}
    no_pooler = not pooler & set(encoder_state)  # token-level task checkpoints have none
    if no_pooler:  # transformers' BertModel warns as well
        logger.warning("%s has no [CLS] pooler (a token-level or masked-LM checkpoint): the encoder's "
                       "pooled_output starts from random weights; sequence_output is the checkpoint's.", path)
    assign(encoder, encoder_state, str(path), lambda name: display(f"bert.{name}"),
           optional=pooler if no_pooler else ())
    return encoder


def load_pretrainer(path, **overrides):
    """A BertPretrainer (encoder + MLM head, + NSP head where the checkpoint has it) from a checkpoint."""
    config, state, display = read_checkpoint(path)
    if not any(name.startswith("cls.") for name in state):
        raise CheckpointMismatchError(
            f"{path} has no pretraining heads (cls/predictions, cls/seq_relationship): it holds only "
            "an encoder. Load it with kbz.BertEncoder.from_checkpoint and wrap it in "
            "kbz.BertPretrainer(encoder) to start the heads from random weights."
        )
    next_sentence = "cls.seq_relationship.weight" in state
    pretrainer = BertPretrainer(BertEncoder(**{**config, **overrides}), next_sentence=next_sentence)
    assign(pretrainer, state, str(path), display)
    return pretrainer


def _write_vocabulary(out_dir, vocabulary, vocabulary_size):
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


def save_hf(model, out_dir, vocabulary=None):
    """Writes a folder transformers loads as the same model: `BertModel` for a BertEncoder,
    `BertForSequenceClassification` for a BertClassifier, ... (see `load`), labels included.

    `vocabulary` (a vocab.txt path or a token list) is written as vocab.txt beside the weights.
    """
    architecture = architectures.of_model(model)
    encoder = model if architecture.name == "BertModel" else model.encoder
    config = encoder_config_json(encoder, architecture.name) | architectures.config_json_labels(model)
    hf_folder.write_folder(out_dir, extract(model), config)
    _write_vocabulary(out_dir, vocabulary, encoder.vocabulary_size)
    return Path(out_dir)


def save_google_checkpoint(model, out_dir, vocabulary=None):
    """Writes bert_config.json + bert_model.ckpt.* (+ vocab.txt) as google-research/bert does.

    Google's format holds an encoder or a pretrainer; save task models with `save_hf` or `.keras`.
    """
    architecture = architectures.of_model(model)
    if architecture.name not in ("BertModel", "BertForPreTraining", "BertForMaskedLM"):
        raise TypeError(f"A Google checkpoint holds a BertEncoder or a BertPretrainer, not a {type(model).__name__}; "
                        "save it with kbz.save_hf or model.save('model.keras').")
    encoder = model if architecture.name == "BertModel" else model.encoder
    state = extract(model)
    if architecture.name == "BertModel":
        state = {f"bert.{name}": value for name, value in state.items()}
    config = encoder_config_json(encoder, architecture.name)
    del config["architectures"], config["model_type"]  # HF-only keys
    google_checkpoint.write_checkpoint(out_dir, state, config)
    _write_vocabulary(out_dir, vocabulary, encoder.vocabulary_size)
    return Path(out_dir)


__all__ = [
    "CheckpointError",
    "CheckpointMismatchError",
    "load",
    "load_encoder",
    "load_pretrainer",
    "read_checkpoint",
    "save_google_checkpoint",
    "save_hf",
]
