"""How each task model is served: one module per task, found through `TASKS`.

SavedModel, TFLite and ONNX exports and the clients read the same entries: `task_serving(model)`
gives a task model's `TaskServing` (its graphs, .tflite outputs and output schemas), and
`schema_of(output names)` the `OutputSchema` a set of outputs belongs to.

Example:
>>> task_serving(kind="BertSpanQA").takes >= {"doc_stride", "n_best"}
True
>>> task_serving(kind="Functional") is None
True
>>> schema_of({"label", "label_id", "probabilities"}) is classifier.CLASSIFICATION
True
"""

import dataclasses

from keras_bert_zoo.export.serving import classifier, encoder, generator, multiple_choice, span_qa, token_classifier
from keras_bert_zoo.export.serving.graph import OutputSchema, ServingGraph, ServingLimits, ServingOptions, TaskServing
from keras_bert_zoo.models.task import is_backbone

TASKS = {task.kind: task for task in (classifier.SERVING, token_classifier.SERVING, span_qa.SERVING,
                                      multiple_choice.SERVING, encoder.SERVING, generator.SERVING)}
SCHEMAS = {schema.names: schema for task in TASKS.values() for schema in task.schemas}


def task_serving(model=None, kind=None):
    """The `TaskServing` of `model` (of its class or the first base class with one), or of the class name
    `kind`; None when no task serves it."""
    kinds = [kind] if kind else [cls.__name__ for cls in type(model).__mro__]
    if model is not None and is_backbone(model):  # every family's backbone serves as BERT's does
        kinds.append("BertEncoder")
    return next((TASKS[name] for name in kinds if name in TASKS), None)


def check_options(task, options):
    """`options` (a `ServingOptions`), after checking that each one set away from its default applies to `task`."""
    defaults = ServingOptions()
    for field in dataclasses.fields(options):
        value = getattr(options, field.name)
        if field.name in task.takes or value == getattr(defaults, field.name):
            continue
        takers = " or ".join(f"a {kind}" for kind, other in TASKS.items() if field.name in other.takes)
        shown = "label_names apply" if field.name == "label_names" else f"{field.name}={value!r} applies"
        raise ValueError(f"{shown} to {takers}, not a {task.kind}.")
    return options


def model_contract(model, preprocessor=None, pair=False):
    """`(preprocessor, ServingOptions)` of a task model, read from the model itself: its `preprocessor`,
    label names, `pair` and span QA decoding. A bare encoder (which has none) takes `preprocessor`
    and `pair` here."""
    preprocessor = preprocessor or getattr(model, "preprocessor", None)
    if preprocessor is None:
        raise ValueError(f"This {type(model).__name__} has no preprocessor to export with it: build it with "
                         "preprocessor=kbz.load_preprocessor(...) (or pass preprocessor= for a bare encoder).")
    fields = {field.name for field in dataclasses.fields(ServingOptions)}
    options = ServingOptions(**{name: getattr(model, name) for name in fields if hasattr(model, name)})
    return preprocessor, dataclasses.replace(options, pair=True) if pair else options


def schema_of(names):
    """The `OutputSchema` whose outputs are exactly `names`, or None."""
    return SCHEMAS.get(frozenset(names))


__all__ = ["TASKS", "OutputSchema", "ServingGraph", "ServingLimits", "ServingOptions", "TaskServing", "check_options",
           "model_contract", "schema_of", "task_serving"]
