"""Students for distillation: a teacher's task model (or backbone) rebuilt with fewer or smaller layers.

- `student_from_layers(teacher, layers)`: DistilBERT's initialisation. The backbone is rebuilt from its
  `get_config()` with `len(layers)` blocks; block i starts as the teacher's block `layers[i]`, everything
  else (embeddings, pooler, the task head) as the teacher's. `alternate_layers(6, 3)` gives [0, 2, 4].
  ALBERT shares its blocks across depth: its student keeps every block's weights and runs them
  `len(layers)` times.
- `student_from_backbone(teacher, backbone)`: the teacher's head (its class and options, a new random
  head) on another backbone of the same inputs, e.g. a smaller preset's (`kbz.load("bert_l2_h128_uncased")`).
- `random_student(teacher, **changes)`: the teacher's architecture with `changes` to its backbone's config
  (`num_layers=2`, `hidden_dim=128`, ...), random weights.

Every family's backbone and every task head works (BertClassifier, BertTokenClassifier, BertSpanQA,
BertMultipleChoice, BertPretrainer, ...): a student is a model of the teacher's classes, so it saves,
loads and exports as the teacher does. The preprocessor is the teacher's (the same vocabulary).

Example:
>>> import keras_bert_zoo as kbz
>>> from keras_bert_zoo.compress import student_from_layers
>>> teacher = kbz.BertClassifier(kbz.BertEncoder(100, 6, 2, 32, 64), num_classes=2)
>>> student = student_from_layers(teacher, [0, 2, 4])
>>> type(student).__name__, student.encoder.num_layers
('BertClassifier', 3)
"""

import numpy as np

from keras_bert_zoo.compress.intermediate_outputs import backbone_of


def alternate_layers(num_teacher_layers, num_student_layers):
    """Evenly spread teacher blocks, starting at the first (DistilBERT took every other one).

    >>> alternate_layers(6, 3), alternate_layers(6, 2), alternate_layers(12, 6)
    ([0, 2, 4], [0, 3], [0, 2, 4, 6, 8, 10])
    """
    if not 1 <= num_student_layers <= num_teacher_layers:
        raise ValueError(f"A student of {num_student_layers} layers from a teacher of {num_teacher_layers}: it needs "
                         f"between 1 and {num_teacher_layers}.")
    return [int(np.floor(i * num_teacher_layers / num_student_layers)) for i in range(num_student_layers)]


def _rebuild_backbone(backbone, **changes):
    # Trainable whatever the teacher is (a Distiller freezes its teacher, backbone included).
    return type(backbone).from_config({**backbone.get_config(), "trainable": True, **changes})


def _with_backbone(teacher, backbone):
    """The teacher's task model class and options over `backbone` (the backbone itself for a bare backbone)."""
    if teacher is backbone_of(teacher):
        return backbone
    options = {key: getattr(teacher, key) for key in type(teacher).config_keys}
    return type(teacher)(backbone, preprocessor=teacher.preprocessor, name=teacher.name, **options)


def _copy_layer(source, target):
    weights = source.get_weights()
    shapes = [tuple(w.shape) for w in target.get_weights()]
    if [tuple(w.shape) for w in weights] != shapes:
        raise ValueError(f"layer {source.name!r}: the teacher's weights {[w.shape for w in weights]} do not fit the "
                         f"student's {shapes}.")
    target.set_weights(weights)


def _copy_head(teacher, student):
    """The task head's layers (all but the backbone), by name."""
    teacher_backbone = backbone_of(teacher)
    for layer in teacher.layers:
        if layer is not teacher_backbone:
            _copy_layer(layer, student.get_layer(layer.name))


def student_from_layers(teacher, layers):
    """A student of `len(layers)` blocks, block i a copy of the teacher's block `layers[i]`, the rest a copy of
    the teacher (see the module docstring)."""
    source = backbone_of(teacher)
    layers = [int(i) for i in layers]
    bad = [i for i in layers if not 0 <= i < source.num_layers]
    if not layers or bad:
        raise ValueError(f"layers {layers}: each must be a block of the teacher's {source.num_layers} "
                         f"(0 to {source.num_layers - 1}), and at least one.")
    changes = {"num_layers": len(layers)}
    if hasattr(source, "num_groups"):  # ALBERT: at most one group of blocks per layer
        changes["num_groups"] = min(source.num_groups, len(layers))
        if changes["num_groups"] != source.num_groups:
            raise ValueError(f"An ALBERT of {source.num_groups} block groups needs a student of at least as many "
                             f"layers, not {len(layers)}.")
    target = _rebuild_backbone(source, **changes)
    student = _with_backbone(teacher, target)
    blocks = {id(layer) for layer in source.transformer_layers}
    for layer in source.layers:
        if id(layer) not in blocks:
            _copy_layer(layer, target.get_layer(layer.name))
    if hasattr(source, "num_groups"):  # shared blocks: all of them, run at fewer depths
        pairs = zip(source.transformer_layers, target.transformer_layers)
    else:
        pairs = ((source.transformer_layers[i], block) for i, block in zip(layers, target.transformer_layers))
    for source_block, target_block in pairs:
        _copy_layer(source_block, target_block)
    if student is not target:
        _copy_head(teacher, student)
    return student


def student_from_backbone(teacher, backbone):
    """The teacher's head (new weights) on `backbone` (its weights kept), which must take the same inputs."""
    source = backbone_of(teacher)
    if sorted(backbone.input) != sorted(source.input):
        raise ValueError(f"The student's backbone takes {sorted(backbone.input)}, the teacher's "
                         f"{sorted(source.input)}: "
                         "both must read the same preprocessed inputs.")
    return _with_backbone(teacher, backbone)


def random_student(teacher, **changes):
    """The teacher's architecture with `changes` to its backbone's config, e.g. `num_layers=2`; random weights."""
    source = backbone_of(teacher)
    unknown = sorted(set(changes) - set(type(source).config_keys))
    if unknown:
        raise ValueError(f"{unknown} are not config keys of {type(source).__name__} "
                         f"({', '.join(type(source).config_keys)}).")
    return _with_backbone(teacher, _rebuild_backbone(source, **changes))
