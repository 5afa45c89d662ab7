"""The ids -> text step of a generator export whose graph ends at ids (ONNX's decoder step, TFLite, whose LiteRT
has no kernel to join strings), kept beside the file: the target tokenizer's files in `<file>.target_tokenizer/`
and `<file>.decoding.json` (its Keras config, the end token, `written_spacing`). `target_decoder` reads them back
as the SavedModel's decoding (`serving.wordpiece_decoding`), so a client's text equals the SavedModel's.

Example:
>>> write_target_decoding("translator.tflite", target_tokenizer, written_spacing=True)  # doctest: +SKIP
>>> decode = target_decoder("translator.tflite")  # doctest: +SKIP
>>> decode({"token_ids": ids, "num_tokens": num_tokens})["generated_text"]  # doctest: +SKIP
"""

import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_bert_zoo.export.preprocessing_files import write_folder
from keras_bert_zoo.export.saved_model_files import write_file
from keras_bert_zoo.export.serving.generator import row_lengths
from keras_bert_zoo.export.serving.wordpiece_decoding import wordpiece_decoder
from keras_bert_zoo.export.serving_client import ServingError

DECODING_FORMAT = 1


def target_decoding_paths(path):
    """(`<file>.target_tokenizer/`, `<file>.decoding.json`) of an export file."""
    path = Path(path)
    return path.with_name(path.name + ".target_tokenizer"), path.with_name(path.name + ".decoding.json")


def write_target_decoding(path, tokenizer, written_spacing):
    """The `BertTokenizer` the decoder writes, and how its ids become text, beside `path`."""
    tokenizer_dir, json_path = target_decoding_paths(path)
    settings = {"format": DECODING_FORMAT, "tokenizer": keras.saving.serialize_keras_object(tokenizer),
                "tokenizer_files": tokenizer_dir.name, "end_token_id": tokenizer.sep_id,
                "written_spacing": bool(written_spacing)}
    write_folder(tokenizer_dir, tokenizer.save_assets)
    write_file(json_path, lambda tmp: tmp.write_text(json.dumps(settings, indent=2), encoding="utf-8"))


def has_target_decoding(path):
    """Whether an export wrote its target decoding beside `path`."""
    return all(found.exists() for found in target_decoding_paths(path))


def target_decoder(path):
    """A function `{"token_ids" [batch, n], "num_tokens" [batch]} -> {"generated_text", "token_ids", "num_tokens"}`
    (numpy), the SavedModel's outputs, from what `write_target_decoding` left beside `path`. Given only
    `token_ids`, it counts each row's ids up to its end token, as the SavedModel does."""
    tokenizer_dir, json_path = target_decoding_paths(path)
    if not has_target_decoding(path):
        raise ServingError(f"{path} answers token ids; turning them into text needs the files its export writes "
                           f"beside it ({tokenizer_dir.name}/, {json_path.name}): export it again.")
    try:
        settings = json.loads(json_path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ServingError(f"{json_path} is not valid JSON: {error}") from None
    if not isinstance(settings, dict) or settings.get("format") != DECODING_FORMAT:
        raise ServingError(f"{json_path} is not a decoding file of format {DECODING_FORMAT}.")
    tokenizer = keras.saving.deserialize_keras_object(settings["tokenizer"])
    tokenizer.load_assets(Path(path).with_name(settings["tokenizer_files"]))
    decode = wordpiece_decoder(tokenizer, settings["written_spacing"])

    def outputs(answer):
        ids = tf.constant(answer["token_ids"], tf.int32)
        num_tokens = answer.get("num_tokens")
        num_tokens = row_lengths(ids, settings["end_token_id"]) if num_tokens is None else tf.constant(num_tokens)
        return {"generated_text": decode(ids, num_tokens).numpy(), "token_ids": ids.numpy(),
                "num_tokens": np.asarray(num_tokens, np.int32)}

    return outputs
