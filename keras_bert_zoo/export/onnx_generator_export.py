"""ONNX export of a `BertEncoderDecoder`: an encoder graph and a one-step decoder graph with caches (tf2onnx), and
`OnnxGenerator`, the numpy + onnxruntime decoding loop over them, which gives the SavedModel's ids.

A decoding loop does not fit one ONNX graph that onnxruntime runs well, so the export writes, into the folder
`path`:

- `encoder.onnx`: `encoder_token_ids`, `encoder_padding_mask` int32 [batch, source] -> `cross_cache` float32
  [layers, batch, 2, heads, source, head_dim], each decoder layer's cross-attention keys and values of the encoded
  text, computed once (the encoded states enter the decoder only through them);
- `decoder_step.onnx`: `token_ids` int32 [batch, 1] (the last token), `index` int32 [] (its position),
  `encoder_padding_mask`, `self_cache` float32 [layers, batch, 2, heads, max_length, head_dim] and `cross_cache` ->
  `logits` float32 [batch, vocab] of the next token and `new_self_cache`, the cache with this step's keys and
  values written at `index`;
- `generator.json`: the start, end and padding ids (the target tokenizer's [CLS], [SEP], [PAD]), the shapes of the
  caches, the decoder's positions and the export's `max_length`.

The tokenizers stay outside, as in `onnx_export`: the source side's files go beside `encoder.onnx`
(`encoder.onnx.tokenizer/`, `encoder.onnx.preprocessing.json`, `preprocessing_files`) and the target side's beside
`decoder_step.onnx` (`decoder_step.onnx.target_tokenizer/`, `decoder_step.onnx.decoding.json`, `target_decoding`),
so that `file_clients.OnnxGeneratorModel` (`keras-bert-zoo predict FOLDER "text"`) answers the SavedModel's
`generated_text`. `OnnxGenerator(folder).generate(ids, mask)` is the greedy loop on ids (`onnx_generator_runner`).

Example:
>>> folder = onnx_generator(model, "saved_models/summarizer_onnx")  # doctest: +SKIP
>>> inputs = model.preprocessor(["a long article ..."])  # doctest: +SKIP
>>> OnnxGenerator(folder).generate(inputs["token_ids"].numpy(), inputs["padding_mask"].numpy(), 32)  # doctest: +SKIP
"""

import json
from pathlib import Path

import keras
import tensorflow as tf
import tf2onnx
from onnx import save_model

from keras_bert_zoo.export.onnx_export import _erfc_as_erf, _inputs_to_initializers  # the encoder export's own
from keras_bert_zoo.export.onnx_generator_runner import CONFIG_FILE, ENCODER_FILE, STEP_FILE
from keras_bert_zoo.export.preprocessing_files import write_preprocessing
from keras_bert_zoo.export.saved_model_files import write_file
from keras_bert_zoo.export.serving import ServingOptions
from keras_bert_zoo.export.serving.generator import GENERATION_OPTIONS, generation_defaults, target_tokenizer_of
from keras_bert_zoo.export.target_decoding import write_target_decoding
from keras_bert_zoo.models.encoder_decoder import decoding_step
from keras_bert_zoo.progress import phase

HANDLERS = {"Erfc": (_erfc_as_erf, [])}


def _convert(function, specs, variables, opset, path):
    """Converts `function(*inputs, values)` with the variables' values as graph inputs (made initializers
    afterwards, as `onnx_export` does: frozen constants multiply tf2onnx's memory) and writes it to `path`."""
    weights = {f"weight_{i}": variable for i, variable in enumerate(variables)}
    signature = [*specs, [tf.TensorSpec(v.shape, v.dtype, name=name) for name, v in weights.items()]]

    def stateless(*args):
        with keras.StatelessScope(state_mapping=list(zip(variables, args[-1]))):
            return function(*args[:-1])

    with phase(f"converting to ONNX: {path}"):
        model_proto, _ = tf2onnx.convert.from_function(tf.function(stateless, input_signature=signature),
                                                       input_signature=signature, opset=opset,
                                                       custom_op_handlers=HANDLERS)
    _inputs_to_initializers(model_proto.graph, weights)
    write_file(path, lambda tmp: save_model(model_proto, str(tmp), format="protobuf"))


def onnx_generator(model, path, opset=17, *, target_tokenizer=None, generation=None, written_spacing=False):
    """Writes `model` (a `BertEncoderDecoder`) as `encoder.onnx`, `decoder_step.onnx` and `generator.json` into the
    folder `path`, with the tokenizers' files when it has a preprocessor (see the module docstring); returns the folder.

    target_tokenizer, written_spacing: as for `kbz.export.saved_model` (the `BertTokenizer` the decoder writes,
    default the preprocessor's: its [CLS], [SEP] and [PAD] start, end and pad the ids; punctuation spaced as
    written). generation: the decoding options; the loop decodes greedily, so only `max_length` may be set."""
    preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is None and target_tokenizer is None:
        raise ValueError("This BertEncoderDecoder has no preprocessor: give target_tokenizer= (its [CLS], [SEP] "
                         "and [PAD] start, end and pad the output).")
    tokenizer = target_tokenizer_of(model, preprocessor, target_tokenizer)
    encoder, folder = model.encoder, Path(path)
    options = generation_defaults(generation, encoder.max_sequence_length)
    for name, value in options.items():
        if name != "max_length" and value != GENERATION_OPTIONS[name].default:
            raise ValueError(f"generation option {name}={value!r}: the ONNX generator decodes greedily and takes "
                             "max_length only; export a SavedModel or a .tflite for the other options.")
    ids = tf.TensorSpec((None, None), tf.int32, name="encoder_token_ids")
    mask = tf.TensorSpec((None, None), tf.int32, name="encoder_padding_mask")
    cache_shape = (None, None, 2, encoder.num_heads, None, encoder.hidden_dim // encoder.num_heads)

    def encode(token_ids, padding_mask):
        encoded = encoder({"token_ids": token_ids, "segment_ids": tf.zeros_like(token_ids),
                           "padding_mask": padding_mask}, training=False)["sequence_output"]
        return {"cross_cache": tf.stack([tf.stack(decoding_step.cross_keys_and_values(layer, encoded), axis=1)
                                         for layer in model.decoder_layers])}

    def step(token_ids, index, padding_mask, self_cache, cross_cache):
        layers = range(encoder.num_layers)
        state = decoding_step.DecoderState(
            decoding_step.encoder_bias(padding_mask, model.compute_dtype),
            [self_cache[i, :, 0] for i in layers], [self_cache[i, :, 1] for i in layers],
            [cross_cache[i, :, 0] for i in layers], [cross_cache[i, :, 1] for i in layers])
        logits, state = decoding_step.advance(decoding_step.weights_of(model), token_ids[:, 0], index, state)
        return {"logits": logits, "new_self_cache": tf.stack([tf.stack(pair, axis=1) for pair in
                                                              zip(state.self_keys, state.self_values)])}

    folder.mkdir(parents=True, exist_ok=True)
    _convert(encode, [ids, mask], model.weights, opset, folder / ENCODER_FILE)
    step_specs = [tf.TensorSpec((None, 1), tf.int32, name="token_ids"), tf.TensorSpec((), tf.int32, name="index"),
                  mask, tf.TensorSpec(cache_shape, tf.float32, name="self_cache"),
                  tf.TensorSpec(cache_shape, tf.float32, name="cross_cache")]
    _convert(step, step_specs, model.weights, opset, folder / STEP_FILE)
    config = {"start_token_id": tokenizer.cls_id, "end_token_id": tokenizer.sep_id, "pad_token_id": tokenizer.pad_id,
              "num_layers": encoder.num_layers, "num_heads": encoder.num_heads,
              "head_dim": encoder.hidden_dim // encoder.num_heads, "max_positions": encoder.max_sequence_length,
              "max_length": options["max_length"]}
    write_file(folder / CONFIG_FILE, lambda tmp: tmp.write_text(json.dumps(config, indent=1)))
    if preprocessor is not None:
        serving = ServingOptions(generation={"max_length": options["max_length"]}, written_spacing=written_spacing)
        write_preprocessing(folder / ENCODER_FILE, model, preprocessor, serving)
    write_target_decoding(folder / STEP_FILE, tokenizer, written_spacing)
    return folder
