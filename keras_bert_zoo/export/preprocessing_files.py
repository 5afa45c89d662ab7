"""The files that carry a model's preprocessing beside an export whose graph takes ids (ONNX, and TFLite for
tokenizers LiteRT cannot run): the tokenizer's own files in `<file>.tokenizer/` (vocab.txt; vocab.json +
merges.txt; the SentencePiece model) and `<file>.preprocessing.json` (the preprocessor's Keras config, the task,
its labels and decoding options). `file_clients` rebuilds the preprocessor from them and serves raw text.

Example:
>>> write_preprocessing("sst2.onnx", classifier, classifier.preprocessor, options)  # doctest: +SKIP
>>> saved_preprocessor("sst2.onnx")(["a great movie"])["token_ids"]  # doctest: +SKIP
"""

import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path

import keras

from keras_bert_zoo.export.saved_model_files import write_file
from keras_bert_zoo.export.serving_client import ServingError
from keras_bert_zoo.models import BertPretrainer

PREPROCESSING_FORMAT = 2  # 2: any family's tokenizer files in a folder (1: a WordPiece vocab.txt)


def preprocessing_paths(path):
    """(`<file>.tokenizer/`, `<file>.preprocessing.json`) of an ONNX file."""
    path = Path(path)
    return path.with_name(path.name + ".tokenizer"), path.with_name(path.name + ".preprocessing.json")


def write_preprocessing(path, task_model, preprocessor, options):
    """The tokenizer's files, and what rebuilds the preprocessor and the task's decoding, beside `path`."""
    tokenizer_dir, json_path = preprocessing_paths(path)
    kind = type(task_model.encoder if isinstance(task_model, BertPretrainer) else task_model).__name__
    settings = {
        "format": PREPROCESSING_FORMAT,
        "task": kind,
        "num_classes": getattr(task_model, "num_classes", None),
        "num_choices": getattr(task_model, "num_choices", None),
        "options": {**dataclasses.asdict(options),
                    "label_names": None if options.label_names is None else [str(n) for n in options.label_names]},
        "tokenizer_files": tokenizer_dir.name,
        "preprocessor": keras.saving.serialize_keras_object(preprocessor),  # the files are not in it
    }
    write_folder(tokenizer_dir, preprocessor.tokenizer.save_assets)
    write_file(json_path, lambda tmp: tmp.write_text(json.dumps(settings, indent=2), encoding="utf-8"))


def write_folder(folder, write):
    """`write(tmp_folder)`, then the folder replaces `folder` (an older one is removed first)."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.incomplete.", dir=folder.parent))
    try:
        write(tmp)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_preprocessing(path):
    """The settings an ONNX (or ids-in TFLite) export wrote beside `path`, checked; a clear error if missing."""
    tokenizer_dir, json_path = preprocessing_paths(path)
    if not Path(path).is_file():
        raise ServingError(f"{path} is not a file.")
    if not json_path.is_file() or not tokenizer_dir.is_dir():
        raise ServingError(
            f"{path} needs the tokenizer files its export writes beside it ({tokenizer_dir.name}/, {json_path.name}); "
            "export it again with keras-bert-zoo export, or with kbz.export.onnx(..., preprocessor=...)."
        )
    try:
        settings = json.loads(json_path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ServingError(f"{json_path} is not valid JSON: {error}") from None
    if not isinstance(settings, dict) or settings.get("format") != PREPROCESSING_FORMAT:
        raise ServingError(f"{json_path} is not a preprocessing file of format {PREPROCESSING_FORMAT}.")
    return settings


def saved_preprocessor(path, settings=None):
    """The preprocessor `write_preprocessing` saved beside `path`, its tokenizer files loaded."""
    settings = settings or read_preprocessing(path)
    preprocessor = keras.saving.deserialize_keras_object(settings["preprocessor"])
    preprocessor.tokenizer.load_assets(Path(path).with_name(settings["tokenizer_files"]))
    return preprocessor
