"""ONNX export with tf2onnx: int32 encoder inputs in (dynamic batch and sequence), task outputs out.

The tokenizer stays outside the ONNX file: tf2onnx has no mapping for tensorflow-text's tokenizer ops.
Feed it the ids `BertPreprocessor` makes (`{k: v.numpy() for k, v in preprocessor(texts).items()}`). For a
model with a preprocessor, the export writes what rebuilds it beside the file: the tokenizer's files in
`<file>.tokenizer/` (vocab.txt, vocab.json + merges.txt or the SentencePiece model, as the family has them)
and `<file>.preprocessing.json` (the preprocessor's Keras config, the task, its labels and decoding
options), so that `keras-bert-zoo predict model.onnx TEXT` (and
`keras_bert_zoo.export.file_clients.OnnxModel`) answers as the SavedModel export does.
(This module is not called `onnx.py` so that it can import the `onnx` package.)

Example:
>>> path = onnx(kbz.BertClassifier(encoder, 2, preprocessor=preprocessor), "sst2.onnx")  # doctest: +SKIP
>>> session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])  # doctest: +SKIP
>>> session.run(["logits"], {k: v.numpy() for k, v in preprocessor(["a great movie"]).items()})  # doctest: +SKIP
"""

from pathlib import Path

import numpy as np
import tensorflow as tf
import tf2onnx
from onnx import numpy_helper, save_model

from keras_bert_zoo.export.model_card import card_path, check_facts, model_card
from keras_bert_zoo.export.preprocessing_files import write_preprocessing
from keras_bert_zoo.export.saved_model_export import serving_graph
from keras_bert_zoo.export.saved_model_files import write_file
from keras_bert_zoo.export.serving import model_contract
from keras_bert_zoo.models import BertPretrainer, BertTask
from keras_bert_zoo.models.encoder_decoder import BertEncoderDecoder
from keras_bert_zoo.models.task import is_backbone
from keras_bert_zoo.names import ENCODER_INPUTS
from keras_bert_zoo.progress import phase


def onnx(task_model, path, opset=17, card=None, *, preprocessor=None, pair=False):
    """Writes `task_model` as an ONNX file; returns its path.

    Inputs: int32 `token_ids`, `segment_ids` (where the family has token types), `padding_mask` shaped [batch, sequence]
    ([batch, num_choices, sequence] for `BertMultipleChoice`), both axes dynamic (named "batch"
    and "sequence"). Outputs keep the Keras output names (`sequence_output` and
    `pooled_output`, `start_logits` and `end_logits`); a model with a single output (classifier,
    token classifier, multiple choice) names it `logits`. A model with a preprocessor (`BertTask`)
    gets its vocabulary and settings written beside the file, with its label names and decoding
    options, and `file_clients.OnnxModel` serves raw text with them.

    Args:
        task_model: a `BertEncoder` or a task model on one (not `BertPretrainer`).
        path: the file to write, e.g. "model.onnx".
        opset: the ONNX opset to target.
        card: facts for the model card written beside the file as `<file name>.README.md`
            (`keras_bert_zoo.export.model_card`): a dict with any of base_model, training_data,
            metrics {name: value}, command.
        preprocessor, pair: for a bare `BertEncoder`, which has neither: its `BertPreprocessor`
            (None: ids only) and whether it embeds text pairs.

    Example:
    >>> onnx(kbz.BertSpanQA(encoder, preprocessor=preprocessor), "squad.onnx", opset=17)  # doctest: +SKIP
    """
    if isinstance(task_model, BertEncoderDecoder):
        raise NotImplementedError("A BertEncoderDecoder exports to ONNX as an encoder and a one-step decoder: "
                                  "kbz.export.onnx_generator(model, folder).")
    if isinstance(task_model, BertPretrainer) or not (is_backbone(task_model) or isinstance(task_model, BertTask)):
        raise NotImplementedError(f"ONNX export of {type(task_model).__name__} is not written yet.")
    facts = check_facts(card)
    contract = None
    if preprocessor is not None or pair or getattr(task_model, "preprocessor", None) is not None:  # pair needs one
        contract = model_contract(task_model, preprocessor, pair)
        serving_graph(task_model, *contract)  # the options must fit the task, as for the SavedModel export
    shape = task_model.inputs[0].shape
    input_names = [name for name in ENCODER_INPUTS if name in task_model.input]  # the family's
    inputs = {name: tf.TensorSpec(shape, tf.int32, name=name) for name in input_names}
    # The weights go in as graph inputs and become initializers afterwards. Frozen into the graph as
    # constants, every tf2onnx optimizer pass keeps another copy of them in protobuf's arena: BERT-base's
    # 0.4 GB of weights took the export past 20 GiB resident; this way it needs about the weights' size.
    trainable, non_trainable = task_model.trainable_variables, task_model.non_trainable_variables
    weights = {f"weight_{i}": variable for i, variable in enumerate(trainable + non_trainable)}
    signature = [inputs, [tf.TensorSpec(v.shape, v.dtype, name=name) for name, v in weights.items()]]

    @tf.function(input_signature=signature)
    def serve(inputs, values):
        outputs, _ = task_model.stateless_call(values[: len(trainable)], values[len(trainable) :], inputs,
                                               training=False)
        return outputs if isinstance(outputs, dict) else {"logits": outputs}

    with phase(f"converting to ONNX: {path}"):
        model_proto, _ = tf2onnx.convert.from_function(
            serve, input_signature=signature, opset=opset, custom_op_handlers={"Erfc": (_erfc_as_erf, [])}
        )
    _inputs_to_initializers(model_proto.graph, weights)
    _name_dynamic_axes(model_proto.graph)
    # The file name's extension would pick the format; the temporary name has another.
    path = Path(path)
    text = model_card(task_model, "onnx", name=path.stem, input_names=input_names, facts=facts,
                      label_names=getattr(task_model, "label_names", None))
    write_file(path, lambda tmp: save_model(model_proto, str(tmp), format="protobuf"))
    write_file(card_path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))
    if contract is not None:
        write_preprocessing(path, task_model, *contract)
    return path


def _erfc_as_erf(ctx, node, name, args):
    """tf2onnx handler: erfc(x) = 1 - erf(x). ONNX has Erf but no Erfc, which TF's exact GELU uses."""
    node.type = "Erf"
    one = ctx.make_const(tf2onnx.utils.make_name(f"{name}_one"), np.array(1, np.float32))
    ctx.insert_new_node_on_output("Sub", node.output[0], inputs=[one.output[0], node.output[0]])


def _inputs_to_initializers(graph, weights):
    """Turns the graph inputs named in `weights` into initializers holding the variables' values (inputs no
    node reads, such as dropout's seed state, are dropped)."""
    used = {name for node in graph.node for name in node.input}
    kept = [value for value in graph.input if value.name not in weights]
    graph.initializer.extend(numpy_helper.from_array(np.asarray(weights[value.name]), value.name)
                             for value in graph.input if value.name in weights and value.name in used)
    del graph.input[:]
    graph.input.extend(kept)


def _name_dynamic_axes(graph):
    """Names the symbolic axes tf2onnx leaves as "unk__N": the first "batch", any later one "sequence".

    That rule holds for every model `onnx` accepts: their only dynamic axes are batch and sequence.
    """
    for value in list(graph.input) + list(graph.output):
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if not dim.HasField("dim_value"):
                dim.dim_param = "batch" if axis == 0 else "sequence"
