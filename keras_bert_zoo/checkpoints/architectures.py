"""Hugging Face BERT classes <-> this package's models: which class, which head weights, which labels.

A checkpoint's `architectures[0]` (config.json) names the class it holds. Each entry says which of
our models holds the same network, the Hugging Face names of its head, and whether the checkpoint
stores the [CLS] pooler (token-level heads and masked LM do not: ours keeps a pooler it never uses).
"""

import dataclasses

from keras_bert_zoo.encoder import BertEncoder
from keras_bert_zoo.models import (
    BertClassifier,
    BertMultipleChoice,
    BertPretrainer,
    BertSpanQA,
    BertTokenClassifier,
)


def dense(prefix, layer_path):
    """HF names of a dense layer -> (Keras variable path, how the tensor is laid out)."""
    return {f"{prefix}.weight": (f"{layer_path}/kernel", "linear"), f"{prefix}.bias": (f"{layer_path}/bias", "copy")}


def layer_norm(prefix, layer_path):
    return {f"{prefix}.weight": (f"{layer_path}/gamma", "copy"), f"{prefix}.bias": (f"{layer_path}/beta", "copy")}


MLM_HEAD = {
    **dense("cls.predictions.transform.dense", "mlm_head/intermediate_dense"),
    **layer_norm("cls.predictions.transform.LayerNorm", "mlm_head/intermediate_layer_norm"),
    "cls.predictions.bias": ("mlm_head/output_bias", "copy"),
}


@dataclasses.dataclass(frozen=True)
class Architecture:
    name: str  # the Hugging Face class
    model_class: type
    head: dict  # HF name -> (Keras variable path, kind)
    has_pooler: bool = True
    options: dict = dataclasses.field(default_factory=dict)  # constructor arguments that pick this head


ARCHITECTURES = {
    a.name: a
    for a in (
        Architecture("BertModel", BertEncoder, {}),
        Architecture("BertForPreTraining", BertPretrainer, {**MLM_HEAD, **dense("cls.seq_relationship", "nsp_dense")},
                     options={"next_sentence": True}),
        Architecture("BertForMaskedLM", BertPretrainer, MLM_HEAD, has_pooler=False,
                     options={"next_sentence": False}),
        Architecture("BertForSequenceClassification", BertClassifier, dense("classifier", "logits")),
        Architecture("BertForTokenClassification", BertTokenClassifier, dense("classifier", "logits"),
                     has_pooler=False),
        Architecture("BertForQuestionAnswering", BertSpanQA, dense("qa_outputs", "span_logits"), has_pooler=False),
        Architecture("BertForMultipleChoice", BertMultipleChoice, dense("classifier", "choice_score")),
    )
}


def of_model(model):
    """The `Architecture` of one of our models, or a TypeError naming what can be saved."""
    for architecture in ARCHITECTURES.values():
        if type(model) is architecture.model_class and all(
            getattr(model, key) == value for key, value in architecture.options.items()
        ):
            return architecture
    raise TypeError(
        f"A BERT checkpoint holds one of {', '.join(a.model_class.__name__ for a in ARCHITECTURES.values())}, "
        f"not a {type(model).__name__}; save it with model.save('model.keras')."
    )


def of_checkpoint(config_json, state, source):
    """The `Architecture` a checkpoint holds: config.json's `architectures[0]`, else what its tensors show."""
    names = config_json.get("architectures") or []
    if names:
        if names[0] not in ARCHITECTURES:
            raise ValueError(f"{source}: architectures[0] is {names[0]!r}; this package loads "
                             f"{', '.join(ARCHITECTURES)}.")
        return ARCHITECTURES[names[0]]
    if "cls.seq_relationship.weight" in state:
        return ARCHITECTURES["BertForPreTraining"]
    if "cls.predictions.bias" in state:
        return ARCHITECTURES["BertForMaskedLM"]
    return ARCHITECTURES["BertModel"]


def build(architecture, encoder, config_json, **overrides):
    """Our model of `architecture` over `encoder`, with the head's size and labels from config.json."""
    cls = architecture.model_class
    if cls is BertEncoder:
        return encoder
    kwargs = dict(architecture.options)
    if cls in (BertClassifier, BertTokenClassifier):
        labels = label_names(config_json)
        kwargs.update(num_classes=len(labels), label_names=labels)
    if cls in (BertClassifier, BertTokenClassifier, BertMultipleChoice):
        kwargs["dropout"] = config_json.get("classifier_dropout") or config_json.get("hidden_dropout_prob", 0.1)
    if cls is BertMultipleChoice:
        kwargs["num_choices"] = None  # any number, as in Hugging Face
    return cls(encoder, **{**kwargs, **overrides})


def label_names(config_json):
    """Label names in id order from `id2label` (Hugging Face's LABEL_i when it has none)."""
    id2label = config_json.get("id2label")
    if id2label:
        return [id2label[key] for key in sorted(id2label, key=int)]
    count = 1 if config_json.get("problem_type") == "regression" else config_json.get("num_labels", 2)
    return [f"LABEL_{i}" for i in range(count)]


def config_json_labels(model):
    """The config.json keys that describe a task model's head (labels, regression)."""
    if not isinstance(model, (BertClassifier, BertTokenClassifier)):
        return {}
    names = model.label_names or [f"LABEL_{i}" for i in range(model.num_classes)]
    keys = {"id2label": dict(enumerate(names)), "label2id": {name: i for i, name in enumerate(names)}}
    if isinstance(model, BertClassifier):
        keys["problem_type"] = "regression" if model.num_classes == 1 else "single_label_classification"
    return keys
