"""Models out as checkpoint folders: `kbz.save_hf` (Hugging Face) and `kbz.save_google_checkpoint`.

The model's family (`keras_bert_zoo.models.families`) says its config keys and weight names;
`keras_bert_zoo.checkpoints` writes the files.

>>> import keras_bert_zoo as kbz  # doctest: +SKIP
>>> kbz.save_hf(kbz.load("all_minilm_l6_v2"), "out/hf", vocabulary="path/to/vocab.txt")  # doctest: +SKIP
"""

from keras_bert_zoo import checkpoints
from keras_bert_zoo.checkpoints.weight_map import extract
from keras_bert_zoo.models import families
from keras_bert_zoo.models.family import config_json_labels
from keras_bert_zoo.models.pruned_checkpoint import full_size_state
from keras_bert_zoo.text.checkpoint_tokenizers import write_tokenizer_files


def save_hf(model, out_dir, vocabulary=None):
    """Writes a folder transformers loads as the same model: `BertModel` for a BertEncoder,
    `BertForSequenceClassification` for a BertClassifier over one, `RobertaForSequenceClassification` for a
    BertClassifier over a RobertaEncoder, ... (see `kbz.load`), labels included.

    `vocabulary` (a vocab.txt path or a token list) is written as vocab.txt beside the weights; without it, a
    task model's own preprocessor gives its tokenizer's files (vocab.txt, vocab.json + merges.txt or the
    SentencePiece model, as transformers names them).
    """
    family = families.of_model(model)
    architecture = family.architecture_of(model)
    names, optional = family.weight_names(model)
    config = family.config_json(model, architecture) | config_json_labels(model, architecture)
    state = _full_size(family, model, names, extract(model, names, optional))
    state |= {name: state[original] for name, original in family.copies_for(model).items()}
    folder = checkpoints.write_hf(out_dir, state, config, vocabulary)
    preprocessor = getattr(model, "preprocessor", None)
    if vocabulary is None and preprocessor is not None:
        write_tokenizer_files(preprocessor.tokenizer, out_dir)
    return folder


def save_google_checkpoint(model, out_dir, vocabulary=None):
    """Writes bert_config.json + bert_model.ckpt.* (+ vocab.txt) as google-research/bert does.

    Google's format holds an encoder or a pretrainer; save task models with `save_hf` or `.keras`.
    """
    family = families.of_model(model)
    if family.to_google is None:
        raise TypeError(f"A Google checkpoint holds BERT models only; this model is {family.model_type!r}. "
                        "save it with kbz.save_hf or model.save('model.keras').")
    architecture = family.architecture_of(model)
    if architecture.name not in ("BertModel", "BertForPreTraining", "BertForMaskedLM"):
        raise TypeError(f"A Google checkpoint holds a BertEncoder or a BertPretrainer, not a {type(model).__name__}; "
                        "save it with kbz.save_hf or model.save('model.keras').")
    names, optional = family.weight_names(model)
    state = _full_size(family, model, names, extract(model, names, optional))
    if architecture.model_class is family.backbone:
        state = {f"{family.prefix}.{name}": value for name, value in state.items()}
    config = family.config_to_hf(family.backbone_of(model), architecture.name)
    del config["architectures"], config["model_type"]  # HF-only keys
    return checkpoints.write_google(out_dir, state, config, family.to_google, vocabulary)


def _full_size(family, model, names, state):
    """`state` of a pruned encoder (`kbz.compress.prune`) zero-padded back to its config's shape, which is what
    checkpoints hold (see `keras_bert_zoo.models.pruned_checkpoint`); other states unchanged."""
    backbone = family.backbone_of(model)
    if not getattr(backbone, "is_pruned", False):
        return state
    return full_size_state(backbone, state, names)
