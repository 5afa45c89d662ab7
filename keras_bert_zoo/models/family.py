"""What a model family is: its backbone and the data that maps it to Hugging Face and Google checkpoints.

A `Family` is plain data (classes, name tables, functions) that the loaders in `keras_bert_zoo.loading`
read and hand to `keras_bert_zoo.checkpoints`, which knows no family. `keras_bert_zoo.models.families`
registers one per `model_type`.
"""

import dataclasses
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Architecture:
    """A Hugging Face class (config.json's `architectures[0]`) and the model of ours that holds the same network."""

    name: str  # the Hugging Face class
    model_class: type
    head: dict  # HF name -> (Keras variable path, kind)
    has_pooler: bool = True  # False: the checkpoint stores no [CLS] pooler (ours keeps one it never uses)
    options: dict = dataclasses.field(default_factory=dict)  # constructor arguments that pick this head
    # config.json keys of the head's dropout rate, the first one set wins (DistilBERT: seq_classif_dropout)
    dropout_keys: tuple = ("classifier_dropout", "hidden_dropout_prob")


@dataclasses.dataclass(frozen=True)
class Family:
    """One model family (BERT, RoBERTa, ...): everything loaders need to know about it.

    model_type: config.json's `model_type`.
    backbone: the backbone class (e.g. `BertEncoder`); task models hold one as `.encoder`.
    prefix: the HF name prefix of the backbone's weights inside task checkpoints (`bert`).
    config_from_hf(config_json, config_file) -> backbone kwargs; CheckpointError naming what is wrong.
    config_to_hf(backbone, architecture_name) -> config.json dict.
    check_sizes(config_json, shapes, config_file, weights, display_name): refuses a config the weights' shapes
        (from file headers) do not have, before any model is built.
    backbone_names(backbone) -> {HF name without prefix: (Keras variable path, kind)}.
    hf_names(state) -> state with the names a task checkpoint uses (a bare backbone's files lack the prefix).
    architectures: {HF class name: Architecture}; the backbone's own entry first.
    architecture_of_state(state) -> HF class name, for folders whose config names none (Google's).
    pooler: HF names (without prefix) of weights that heads without a pooler neither need nor write.
    tied: {HF name a checkpoint may store: the name of the tensor it must equal}.
    from_google / to_google: google-research/bert name <-> (HF name, transposed), or None.
    shape_keys: backbone kwargs that fix the network's shape (a preset's weights must match them).
    tokenizer, preprocessor: the names of its tokenizer and preprocessor classes in `keras_bert_zoo.text`
        (names, not classes: text is a level above models).
    tokenizer_options: arguments of its tokenizer beyond the files (e.g. a SentencePiece id `layout`).
    packing: arguments of its preprocessor that say how it packs text (`pair_separators`, `segment_ids`).
    """

    model_type: str
    backbone: type
    prefix: str
    config_from_hf: Callable
    config_to_hf: Callable
    check_sizes: Callable
    backbone_names: Callable
    hf_names: Callable
    architectures: dict
    architecture_of_state: Callable
    pooler: tuple = ()
    tied: dict = dataclasses.field(default_factory=dict)
    from_google: Callable | None = None
    to_google: Callable | None = None
    shape_keys: tuple = ()
    tokenizer: str = ""
    preprocessor: str = ""
    tokenizer_options: dict = dataclasses.field(default_factory=dict)
    packing: dict = dataclasses.field(default_factory=dict)

    def backbone_of(self, model):
        return model if isinstance(model, self.backbone) else model.encoder

    def architecture_of(self, model):
        """The `Architecture` of one of our models, or a TypeError naming what can be saved."""
        for architecture in self.architectures.values():
            if type(model) is architecture.model_class and all(
                getattr(model, key) == value for key, value in architecture.options.items()
            ):
                return architecture
        for architecture in self.architectures.values():
            if type(model) is architecture.model_class:  # the class, with options Hugging Face's class lacks
                ours = {key: getattr(model, key) for key in architecture.options}
                raise TypeError(f"{architecture.name} is a {type(model).__name__} with {architecture.options}; "
                                f"this one has {ours}. Save it with model.save('model.keras').")
        names = ", ".join(a.model_class.__name__ for a in self.architectures.values())
        raise TypeError(f"A {self.model_type.upper()} checkpoint holds one of {names}, "
                        f"not a {type(model).__name__}; save it with model.save('model.keras').")

    def architecture_of_checkpoint(self, config_json, state, source):
        """The `Architecture` a checkpoint holds: config.json's `architectures[0]`, else what its tensors show."""
        names = config_json.get("architectures") or []
        if names:
            if names[0] not in self.architectures:
                raise ValueError(f"{source}: architectures[0] is {names[0]!r}; this package loads "
                                 f"{', '.join(self.architectures)}.")
            return self.architectures[names[0]]
        return self.architectures[self.architecture_of_state(state)]

    def weight_names(self, model):
        """({HF name: (Keras variable path, kind)}, optional HF names) of one of our models.

        A bare backbone has its HF backbone class's names (no prefix). Where the Hugging Face class
        has no pooler (token-level heads, masked LM), the pooler's names are optional: loaded when a
        checkpoint has them, never required, never written.
        """
        architecture = self.architecture_of(model)
        prefix = "" if architecture.model_class is self.backbone else f"{self.prefix}."
        names = {f"{prefix}{k}": v for k, v in self.backbone_names(self.backbone_of(model)).items()}
        optional = () if architecture.has_pooler else {f"{prefix}{name}" for name in self.pooler}
        return names | architecture.head, optional

    def tied_for(self, model):
        """{HF name a checkpoint may store: the name it must equal} for one of our models."""
        return self.tied

    def copies_for(self, model):
        """{HF name: the HF name whose tensor it repeats}: what `save_hf` writes twice for `model`."""
        return {}

    def config_json(self, model, architecture):
        """The config.json of one of our models (labels apart)."""
        return self.config_to_hf(self.backbone_of(model), architecture.name)


def build_task(architecture, backbone, config_json, **overrides):
    """Our model of `architecture` over `backbone`, with the head's size and labels from config.json."""
    cls = architecture.model_class
    if isinstance(backbone, cls):
        return backbone
    kwargs = dict(architecture.options)
    if "num_classes" in cls.config_keys:  # classifiers and token classifiers: labels
        labels = label_names(config_json)
        kwargs.update(num_classes=len(labels), label_names=labels)
    if "dropout" in cls.config_keys:
        kwargs["dropout"] = next((config_json[k] for k in architecture.dropout_keys if config_json.get(k)), 0.1)
    if "num_choices" in cls.config_keys:
        kwargs["num_choices"] = None  # any number, as in Hugging Face
    return cls(backbone, **{**kwargs, **overrides})


def label_names(config_json):
    """Label names in id order from `id2label` (Hugging Face's LABEL_i when it has none)."""
    id2label = config_json.get("id2label")
    if id2label:
        return [id2label[key] for key in sorted(id2label, key=int)]
    count = 1 if config_json.get("problem_type") == "regression" else config_json.get("num_labels", 2)
    return [f"LABEL_{i}" for i in range(count)]


def config_json_labels(model, architecture):
    """The config.json keys that describe a task model's head (labels, regression)."""
    if "label_names" not in getattr(model, "config_keys", ()):
        return {}
    names = model.label_names or [f"LABEL_{i}" for i in range(model.num_classes)]
    keys = {"id2label": dict(enumerate(names)), "label2id": {name: i for i, name in enumerate(names)}}
    if architecture.name.endswith("ForSequenceClassification"):
        keys["problem_type"] = "regression" if model.num_classes == 1 else "single_label_classification"
    return keys
