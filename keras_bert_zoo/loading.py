"""One loader: a preset name, a Hugging Face folder, a Google checkpoint folder or a `.keras` file ->
its model (`kbz.load`), tokenizer (`kbz.load_tokenizer`) or preprocessor (`kbz.load_preprocessor`).

The model family (`keras_bert_zoo.models.families`) comes from the preset or from config.json's
`model_type`; `keras_bert_zoo.checkpoints` reads the files with what the family says the names mean.

Example:
>>> import keras_bert_zoo as kbz
>>> kbz.load("all_minilm_l6_v2").num_layers  # a preset, with its real weights
6
>>> kbz.load("bert_tiny_uncased", weights=None).hidden_dim  # a preset's architecture, random weights
128
>>> kbz.load_tokenizer("bert_tiny_uncased")(["Hello"]).to_list()
[[7592]]
>>> kbz.load_preprocessor("bert_tiny_uncased", sequence_length=4)(["Hello"])["token_ids"].numpy().tolist()
[[101, 7592, 102, 0]]
"""

import logging
from pathlib import Path

import keras

from keras_bert_zoo import checkpoints, preset_weights, presets, text
from keras_bert_zoo.checkpoints.weight_map import assign
from keras_bert_zoo.errors import CheckpointMismatchError
from keras_bert_zoo.models import families
from keras_bert_zoo.models.family import build_task
from keras_bert_zoo.preset_weights import AUTO, PresetWeightsError
from keras_bert_zoo.text.checkpoint_tokenizers import tokenizer_from_checkpoint

logger = logging.getLogger("keras_bert_zoo")
BACKBONE = "backbone"


class UnknownSourceError(FileNotFoundError, ValueError):
    """`kbz.load` was given neither a preset name nor an existing file or folder."""


def load(source, weights=AUTO, model_class=None, **overrides):
    """The model `source` holds: a preset name, a Hugging Face folder, a Google checkpoint folder or a `.keras` file.

    A preset gives its backbone (a `BertEncoder`) with its real weights. `weights`: "auto" (the preset's
    pip package, then `~/.cache/keras_bert_zoo/<name>/`), a folder or `.zip` of the preset's weights
    (Google release or Hugging Face folder), or None for a random start; without weights it raises
    `MissingWeightsError` naming where they come from.

    A Hugging Face folder gives the class its config.json's `architectures[0]` names, head weights and
    label names included: `BertModel` -> BertEncoder, `BertForPreTraining` -> BertPretrainer,
    `BertForMaskedLM` -> an MLM-only BertPretrainer, `BertForSequenceClassification` -> BertClassifier
    (a regressor for one label), `BertForTokenClassification` -> BertTokenClassifier,
    `BertForQuestionAnswering` -> BertSpanQA, `BertForMultipleChoice` -> BertMultipleChoice; the same
    for `Roberta*` and `XLMRoberta*` classes over a RobertaEncoder / XLMRobertaEncoder (RoBERTa's
    classifier has its dense-tanh head, `head="dense_tanh"`; its masked LM has no NSP head). A Google
    checkpoint (no `architectures`) holds a BertPretrainer when it has the pretraining heads, else a
    BertEncoder. A `.keras` file gives the model saved in it.

    `model_class`: None for what the source holds; "backbone" (or the backbone class) for the backbone
    alone, a task checkpoint's heads left out; a task class (e.g. `kbz.BertPretrainer`) to insist on it,
    a CheckpointMismatchError saying what the folder holds otherwise. `overrides` go to the backbone's
    config when a backbone is returned (e.g. `dtype="mixed_bfloat16"`, `dropout=0.0`), else to the
    task model.
    """
    if isinstance(source, str) and source in presets.names():
        preset = presets.get(source)
        family = families.get(preset.model_type)
        found = find_weights(source, weights)
        if found is None:
            if model_class not in (None, BACKBONE, family.backbone):
                raise ValueError(f"weights=None gives preset {source}'s backbone with random weights; "
                                 f"wrap it in {model_class.__name__} for random heads too.")
            return family.backbone(**{**preset.config, **overrides})
        return _load_folder(found.folder, model_class or BACKBONE, overrides)
    path = Path(source)
    if path.suffix == ".keras" and path.is_file():
        model = keras.saving.load_model(path)
        if model_class == BACKBONE:
            return families.of_model(model).backbone_of(model)
        if model_class is not None and not isinstance(model, model_class):
            raise TypeError(f"{path} holds a {type(model).__name__}, not a {model_class.__name__}.")
        return model
    if path.is_dir():
        return _load_folder(path, model_class, overrides)
    raise _unknown(source)


def load_tokenizer(source, weights=AUTO, **kwargs):
    """The in-graph tokenizer of a preset or of a Hugging Face / Google checkpoint folder, of its family's kind:
    WordPiece from vocab.txt (casing from tokenizer_config.json's `do_lower_case`, else inferred from the
    vocabulary; a preset's own casing), byte-level BPE from vocab.json + merges.txt or tokenizer.json
    (RoBERTa), SentencePiece from the folder's .model file (XLM-R). A preset gives its shipped vocabulary, or
    the files beside its weights (`weights` as in `load`)."""
    if isinstance(source, str) and source in presets.names():
        preset = presets.get(source)
        family = families.get(preset.model_type)
        if preset.vocabulary_file is not None or weights is None:  # shipped (or asked for without weights)
            return _text_class(family, "tokenizer")(
                vocabulary=presets.vocabulary_file(source), lowercase=preset.lowercase, **kwargs)
        folder = preset_weights.find(source, weights).folder
        options = {"lowercase": preset.lowercase} if family.tokenizer == "BertTokenizer" else {}
        return tokenizer_from_checkpoint(folder, family.tokenizer, **{**family.tokenizer_options, **options, **kwargs})
    path = Path(source)
    if path.suffix == ".keras" and path.is_file():
        raise ValueError(f"{path} holds a model, not its tokenizer: load the tokenizer of the checkpoint or "
                         "preset it was trained from (or use the model's own `preprocessor`).")
    folder = path if path.is_dir() else path.parent  # a file inside a folder is fine (a Google checkpoint prefix)
    if not folder.is_dir() or not (path.exists() or (folder / checkpoints.VOCAB).is_file()):
        raise _unknown(source)
    family = _family_of_folder(folder)
    _text_class(family, "tokenizer")  # a family without one says so
    return tokenizer_from_checkpoint(folder, family.tokenizer, **{**family.tokenizer_options, **kwargs})


def load_preprocessor(source, weights=AUTO, **kwargs):
    """A preprocessor (`BertPreprocessor(tokenizer, **kwargs)`, packing text as the family does: RoBERTa's
    two separators, no `segment_ids` where the family has no token types) with `load_tokenizer(source, weights)`."""
    tokenizer = load_tokenizer(source, weights)
    family = (families.get(presets.get(source).model_type) if isinstance(source, str) and source in presets.names()
              else _family_of_folder(Path(source) if Path(source).is_dir() else Path(source).parent))
    return _text_class(family, "preprocessor")(tokenizer, **{**family.packing, **kwargs})


def find_weights(name, weights=AUTO):
    """`preset_weights.find` that also refuses weights of another architecture than the preset's."""
    return preset_weights.find(name, weights, check=_check_preset_weights)


def announce(name, random_init=False):
    """`preset_weights.announce` (prints where the weights come from) with `find_weights`' check."""
    return preset_weights.announce(name, random_init, check=_check_preset_weights)


def read_checkpoint(path):
    """(backbone kwargs, {HF name: array}, name renderer) of a checkpoint folder, every file checked."""
    family, checkpoint = _read(path)
    return family.config_from_hf(checkpoint.config, checkpoint.config_file), checkpoint.state, checkpoint.display


def _read(path):
    checkpoint = checkpoints.read(path, families.of_config)
    return families.of_config(checkpoint.config), checkpoint


def _load_folder(path, model_class, overrides):
    family, checkpoint = _read(path)
    config = family.config_from_hf(checkpoint.config, checkpoint.config_file)
    if model_class in (BACKBONE, family.backbone):
        return _load_backbone(family, checkpoint, config, overrides)
    architecture = family.architecture_of_checkpoint(checkpoint.config, checkpoint.state, path)
    if model_class is not None and architecture.model_class is not model_class:
        task = next((a.name for a in family.architectures.values() if a.model_class is model_class), None)
        if task is None:
            raise TypeError(f"model_class={model_class!r}: a {family.model_type} checkpoint holds one of "
                            f"{', '.join(a.model_class.__name__ for a in family.architectures.values())}.")
        if architecture.model_class is family.backbone:
            raise CheckpointMismatchError(
                f"{path} has no {task.split('For', 1)[-1].lower()} heads: it holds only an encoder. Load it "
                f"with kbz.load(path, model_class='backbone') and wrap it in kbz.{model_class.__name__}(encoder) "
                "to start the heads from random weights."
            )
        raise CheckpointMismatchError(f"{path} holds a {architecture.name} ({architecture.model_class.__name__}), "
                                      f"not a {model_class.__name__}.")
    if architecture.model_class is family.backbone:
        return _load_backbone(family, checkpoint, config, overrides)
    model = build_task(architecture, family.backbone(**config), checkpoint.config, **overrides)
    names, optional = family.weight_names(model)
    assign(model, names, checkpoint.state, str(path), checkpoint.display, optional=optional,
           tied=family.tied_for(model))
    return model


def _load_backbone(family, checkpoint, config, overrides):
    """The backbone with a checkpoint's weights; a task checkpoint's heads are left out (and logged)."""
    path, prefix = checkpoint.folder, f"{family.prefix}."
    backbone = family.backbone(**{**config, **overrides})
    heads = sorted(name for name in checkpoint.state if not name.startswith(prefix))
    if heads:
        logger.info("Loading only the encoder of %s; not loaded: %s", path, ", ".join(heads))
    state = {name[len(prefix):]: v for name, v in checkpoint.state.items() if name.startswith(prefix)}
    no_pooler = bool(family.pooler) and not set(family.pooler) & set(state)  # token-level task checkpoints have none
    if no_pooler:  # transformers' BertModel warns as well
        logger.warning("%s has no [CLS] pooler (a token-level or masked-LM checkpoint): the encoder's "
                       "pooled_output starts from random weights; sequence_output is the checkpoint's.", path)
    names, optional = family.weight_names(backbone)
    assign(backbone, names, state, str(path), lambda name: checkpoint.display(f"{prefix}{name}"),
           optional=set(optional) | (set(family.pooler) if no_pooler else set()))
    return backbone


def _check_preset_weights(preset, config_file, shown):
    """Refuses a weights folder whose config does not have the preset's architecture."""
    family, config_json = families.get(preset.model_type), checkpoints.read_config_json(config_file)
    if families.of_config(config_json) is not family:
        raise PresetWeightsError(f"{shown} holds a {families.of_config(config_json).model_type} checkpoint, not "
                                 f"preset {preset.name!r} ({family.model_type}). Load it with kbz.load(path).")
    config = family.config_from_hf(config_json, config_file)
    differences = [f"{key}={config.get(key)} (the preset has {preset.config[key]})"
                   for key in family.shape_keys if config.get(key, preset.config[key]) != preset.config[key]]
    if differences:
        raise PresetWeightsError(f"{shown} does not hold preset {preset.name!r}: {', '.join(differences)}. "
                                 "Load another model with kbz.load(path).")


def _unknown(source):
    return UnknownSourceError(f"{source} is not a preset (keras-bert-zoo presets), a .keras file or a checkpoint "
                              "folder (Hugging Face: config.json + model.safetensors; Google: bert_config.json + "
                              f"bert_model.ckpt.*). Unknown preset {str(source)!r}. Known presets: "
                              f"{', '.join(presets.names())}.")


def _family_of_folder(folder):
    file = checkpoints.config_file(folder)
    return families.of_config(checkpoints.read_config_json(file)) if file else families.get(families.DEFAULT)


def _text_class(family, kind):
    if not getattr(family, kind):
        raise NotImplementedError(f"The {family.model_type} family has no in-graph {kind} yet.")
    return getattr(text, getattr(family, kind))
