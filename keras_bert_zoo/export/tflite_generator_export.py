"""TFLite (LiteRT) export of a `BertEncoderDecoder`: raw text in, generated token ids out, with the tokenizer, the
encoder and the cached decoding loop inside the .tflite.

What LiteRT runs: tensorflow-text's tokenizer kernels (registered by `tflite_export.tflite_interpreter`, as for the
other tasks), the encoder, and the decoding loop as a WHILE whose caches are written with SELECT_V2.
What it cannot run: turning the ids back into text. The WordPiece decoding (`serving.wordpiece_decoding`) joins
strings with `tf.strings.reduce_join`, which has no LiteRT kernel (only TensorFlow's Flex delegate has it, and the
LiteRT wheel does not ship that), so the file answers `token_ids` [batch, longest] and `num_tokens` [batch] as the
SavedModel does, and the host decodes them with the target vocabulary, which the export writes beside the file
(`<file>.target_tokenizer/`, `<file>.decoding.json`: `target_decoding`); `file_clients.TfliteModel` (and
`keras-bert-zoo predict FILE.tflite "text"`) decodes them there into the SavedModel's `generated_text`
(transformers' `BertTokenizer.decode(ids, skip_special_tokens=True)`, or written spacing). The
generation options are fixed at export (`generation=`, as the SavedModel's `serving_default`); the file has no
request limits, so bound batches before calling it.

Example:
>>> path = tflite_generator(summarizer, "summarizer.tflite", generation={"max_length": 32})  # doctest: +SKIP
>>> runner = tflite_interpreter(path).get_signature_runner()  # doctest: +SKIP
>>> runner(text=np.array(["a long article ..."], object))["token_ids"]  # doctest: +SKIP
"""

import tempfile
from pathlib import Path

import tensorflow as tf

from keras_bert_zoo import compat
from keras_bert_zoo.export.saved_model_files import write_file
from keras_bert_zoo.export.serving.generator import generation_defaults, row_lengths, target_tokenizer_of
from keras_bert_zoo.export.target_decoding import write_target_decoding
from keras_bert_zoo.models.encoder_decoder.generation import generate_ids
from keras_bert_zoo.progress import phase


def tflite_generator(model, path, *, target_tokenizer=None, generation=None, written_spacing=False):
    """Writes `model` (a `BertEncoderDecoder` with its preprocessor) as a .tflite taking `text` [batch] strings and
    returning `token_ids` and `num_tokens`, with the target tokenizer's files beside it (see the module docstring);
    returns its path.

    target_tokenizer, generation, written_spacing: as for `kbz.export.saved_model`: the `BertTokenizer` the decoder
    writes (its [CLS], [SEP], [PAD] start, end and pad the ids), the decoding options (a dict) and the spacing of
    the text a client decodes."""
    path = Path(path)
    if path.suffix != ".tflite":
        raise ValueError(f"The TFLite file name must end in '.tflite', got {str(path)!r}.")
    preprocessor = model.preprocessor
    if preprocessor is None:
        raise ValueError("This BertEncoderDecoder has no preprocessor to put in the .tflite: build it with "
                         "preprocessor=kbz.load_preprocessor(...).")
    tokenizer = target_tokenizer_of(model, preprocessor, target_tokenizer)
    options = generation_defaults(generation, model.encoder.max_sequence_length)
    options |= {"start_token_id": tokenizer.cls_id, "end_token_id": tokenizer.sep_id, "pad_token_id": tokenizer.pad_id}

    def serve(text):
        inputs = preprocessor(text)
        ids, _ = generate_ids(model, inputs["token_ids"], inputs["padding_mask"],
                              {name: tf.constant(value) for name, value in options.items()})
        num_tokens = row_lengths(ids, tokenizer.sep_id)
        return {"token_ids": ids[:, :tf.reduce_max(tf.concat([num_tokens, [0]], axis=0))], "num_tokens": num_tokens}

    archive = compat.export_archive()  # each variable stored once
    archive.track(model)
    archive.track(preprocessor)
    with phase(f"converting to TFLite: {path}"), tempfile.TemporaryDirectory() as saved_model_dir:
        with compat.argmax_without_bitwise_and():
            archive.add_endpoint("serving_default", serve, input_signature=[tf.TensorSpec([None], tf.string,
                                                                                          name="text")])
            archive.write_out(saved_model_dir, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        converter.allow_custom_ops = True  # tensorflow-text's tokenizer kernels
        content = converter.convert()
    write_file(path, lambda tmp: tmp.write_bytes(content))
    write_target_decoding(path, tokenizer, written_spacing)
    return path
