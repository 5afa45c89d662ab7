"""Model cards: a README.md written with every export, in the Hugging Face model-card convention.

YAML front matter (`library_name: keras`, `tags`, `pipeline_tag`, `base_model` when known,
`metrics` when given), then sections: task, base checkpoint, training data, metrics and the command
that produced them, labels, input limits, what runs the format, and an example request.

Where the card goes:
- SavedModel: `README.md` inside the version folder (`saved_models/sst2/1/README.md`), written with
  the version, so it appears complete or not at all; TF Serving and `tf.saved_model.load` ignore it.
- TFLite and ONNX: `<file name>.README.md` beside the file (`sst2.tflite.README.md`,
  `sst2.onnx.README.md`: a .tflite and a .onnx of the same model can share a folder), written
  atomically after the model file.

What an export knows itself (task, labels, sequence length, truncation, request limits, input names)
it fills in; what it cannot know comes from the `card=` argument of `kbz.export.saved_model`,
`tflite` and `onnx`, a dict of facts (all optional):

- `base_model`: the checkpoint it was fine-tuned from, e.g. "sentence-transformers/all-MiniLM-L6-v2"
  (None: trained from random initialization; left out: not recorded).
- `training_data`: e.g. "SST-2 sample: 2000 training sentences".
- `metrics`: {name: value}, e.g. {"dev accuracy": 0.8406}.
- `command`: the command line that trained and measured it.

Label names, inputs, limits and the task come from the model itself.
"""

import json
from pathlib import Path

from keras_bert_zoo.models import BertClassifier, BertMultipleChoice, BertPretrainer, BertSpanQA, BertTokenClassifier
from keras_bert_zoo.models.encoder_decoder import BertEncoderDecoder
from keras_bert_zoo.models.task import is_backbone
from keras_bert_zoo.names import ENCODER_INPUTS

CARD_FACTS = ("base_model", "training_data", "metrics", "command")
SAVED_MODEL_CARD = "README.md"


def card_path(path):
    """Where the card of a .tflite or .onnx file goes: `<file name>.README.md` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".README.md")


def check_facts(card):
    """`card` as a dict, after checking its keys and the shape of `metrics`."""
    facts = dict(card or {})
    unknown = sorted(set(facts) - set(CARD_FACTS))
    if unknown:
        raise ValueError(f"Unknown card facts {unknown}: a card takes {', '.join(CARD_FACTS)}.")
    if not isinstance(facts.get("metrics") or {}, dict):
        raise ValueError(f"card['metrics'] must be a dict {{name: value}}, got {facts['metrics']!r}.")
    return facts


def _task(task_model, pair):
    """(pipeline_tag, words, tag) of the model's task."""
    if isinstance(task_model, BertPretrainer):
        task_model = task_model.encoder
    if isinstance(task_model, BertClassifier):
        what = "sentence-pair" if pair else "sentence"
        if task_model.num_classes == 1:
            return "text-classification", f"{what} regression (one score)", "regression"
        return "text-classification", f"{what} classification into {task_model.num_classes} classes", "classification"
    if isinstance(task_model, BertTokenClassifier):
        return "token-classification", f"token classification (tagging) into {task_model.num_classes} tags", "ner"
    if isinstance(task_model, BertSpanQA):
        return "question-answering", "extractive question answering (answer spans in a context)", "squad"
    if isinstance(task_model, BertMultipleChoice):
        return "multiple-choice", "multiple choice (a score per choice)", "multiple-choice"
    if isinstance(task_model, BertEncoderDecoder):
        return ("text2text-generation", "text generation, a generator (sequence to sequence: a BERT encoder reads the "
                "text, a BERT decoder writes the answer, e.g. a summary or a translation)", "text2text-generation")
    if is_backbone(task_model):
        return "feature-extraction", "sentence embeddings (feature extraction)", "embeddings"
    return None, type(task_model).__name__, None


def _yaml_value(value):
    return json.dumps(value, ensure_ascii=False)  # a JSON string or number is a YAML scalar


def model_card(task_model, fmt, *, name, input_names, facts=None, pair=False, label_names=None,
               sequence_length=None, truncate=None, limits=None, instance=None):
    """The card's text (see the module docstring).

    Args:
        fmt: "saved_model", "tflite" or "onnx".
        name: the model's name (TF Serving's model name for a SavedModel).
        input_names: the signature's inputs, in order.
        label_names: the names of the classes (tags), when the export has them.
        sequence_length, truncate: the preprocessor's (None for ONNX: the caller tokenizes).
        limits: a dict of a SavedModel's request limits (`serving_limits.json`).
        instance: a SavedModel's example request row {input name: value}.
    """
    facts = check_facts(facts)
    pipeline_tag, task_words, task_tag = _task(task_model, pair)
    metrics = facts.get("metrics") or {}
    front = ["---", "library_name: keras", "tags:"]
    front += [f"- {_yaml_value(tag)}" for tag in ["keras", "bert", "keras-bert-zoo", fmt.replace("_", "-"), task_tag]
              if tag]
    if pipeline_tag:
        front.append(f"pipeline_tag: {pipeline_tag}")
    if facts.get("base_model"):
        front.append(f"base_model: {_yaml_value(str(facts['base_model']))}")
    if metrics:
        front += ["metrics:"] + [f"- {_yaml_value(str(metric))}" for metric in metrics]
    front.append("---")

    lines = front + ["", f"# {name}", "", f"A keras_bert_zoo `{type(task_model).__name__}` exported as "
                     f"{_FORMAT_WORDS[fmt]}.", "", "## Task", "", task_words[0].upper() + task_words[1:] + "."]
    base = (f"`{facts['base_model']}`" if facts.get("base_model") else
            "None: trained from random initialization." if "base_model" in facts else "Not recorded.")
    lines += ["", "## Base checkpoint", "", base]
    data = str(facts["training_data"]) if facts.get("training_data") else "Not recorded."
    lines += ["", "## Training data", "", data]
    lines += ["", "## Metrics", ""]
    if metrics:
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| {metric} | {value:.4f} |" if isinstance(value, float) else f"| {metric} | {value} |"
                  for metric, value in metrics.items()]
    else:
        lines.append("Not recorded.")
    if facts.get("command"):
        lines += ["", "Produced by:", "", "```sh", str(facts["command"]), "```"]
    if label_names is not None:
        lines += ["", "## Labels", "", "| id | name |", "|---|---|"]
        lines += [f"| {i} | {label} |" for i, label in enumerate(label_names)]
    lines += ["", "## Inputs and limits", ""] + _input_lines(fmt, task_model, input_names, sequence_length, truncate,
                                                               limits)
    lines += ["", "## Running it", ""] + _runtime_lines(fmt, name, input_names, instance, task_model)
    return "\n".join(lines) + "\n"


_FORMAT_WORDS = {"saved_model": "a TensorFlow SavedModel for TF Serving", "tflite": "a TFLite (LiteRT) file",
                 "onnx": "an ONNX file"}


def _input_lines(fmt, task_model, input_names, sequence_length, truncate, limits):
    names = ", ".join(f"`{name}`" for name in input_names)
    if fmt == "onnx" or "token_ids" in input_names:
        encoder = task_model if is_backbone(task_model) else task_model.encoder
        lines = [f"Inputs: {names}, int32 token ids, `[batch, sequence]` (`[batch, choices, sequence]` for multiple "
                 "choice), both axes dynamic. The tokenizer is not inside: make the ids with the `BertPreprocessor` "
                 f"the model was trained with. Sequences may be up to {encoder.max_sequence_length} tokens (the "
                 "position embeddings); nothing is truncated inside the model."]
        if fmt == "tflite":
            lines.append("LiteRT has no kernels for the regex ops that byte-level BPE splits words with, so this "
                         "file takes ids; the tokenizer's files and settings are beside it (`<file>.tokenizer/`, "
                         "`<file>.preprocessing.json`), which `kbz.export.TfliteModel` reads to take raw text.")
        return lines
    lines = [f"Inputs: {names}, 1-D string tensors (raw text; the tokenizer is inside the model).",
             f"- Sequence length: at most {sequence_length} tokens, the special tokens included."]
    if isinstance(task_model, BertSpanQA):
        lines.append("- A long context is split into overlapping windows of that length (not truncated); the "
                     "question is truncated.")
    elif isinstance(task_model, BertTokenClassifier):
        lines.append("- Longer text is truncated; words past the end are not tagged and the `truncated` output says "
                     "so.")
    else:
        lines.append(f"- Longer text is truncated, as in training (`{truncate}` for a pair of texts).")
    if limits:
        lines += ["", "Request limits (`assets.extra/serving_limits.json`; a request over one fails with an "
                  "`InvalidArgument` error naming it):"]
        lines += [f"- `{key}`: {value:,}" + (" (span QA only)" if key == "max_windows_per_context" and
                                             not isinstance(task_model, BertSpanQA) else "")
                  for key, value in limits.items()]
    elif fmt == "tflite":
        lines.append("- No request limits inside the file: a request too large for memory fails, so bound batches "
                     "and text lengths before calling it.")
    return lines


def _encoder_input_names(task_model):
    """The encoder inputs the model takes (`segment_ids` only where its family has token types)."""
    return [f"`{n}`" for n in ENCODER_INPUTS if n in task_model.input]


def _and(items):
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else "".join(items)


def _runtime_lines(fmt, name, input_names, instance, task_model):
    if fmt == "saved_model":
        request = json.dumps({"signature_name": "serving_default", "instances": [instance]}, ensure_ascii=False)
        return [
            "TF Serving (Docker image `tensorflow/serving`, whose model server links in the tensorflow-text ops "
            f"the graph uses), with this version folder under the model's base path, e.g. `/models/{name}/1/`. "
            "TF Serving loads only the SavedModel's own files and ignores this README.",
            "",
            "```sh",
            f"curl -d '{request}' \\",
            f"  http://localhost:8501/v1/models/{name}:predict",
            "```",
            "",
            "In Python, `import tensorflow_text` before `tf.saved_model.load` (it registers the tokenizer's ops), "
            "or use `kbz.export.ServedModel(path)`:",
            "",
            "```python",
            "import tensorflow as tf",
            "import tensorflow_text  # noqa: F401, registers the tokenizer's ops",
            "model = tf.saved_model.load(\"<version folder>\")",
            "print(model.signatures[\"serving_default\"](" +
            ", ".join(f"{key}=tf.constant([{_py(value)}])" for key, value in instance.items()) + "))",
            "```",
            "",
        ] + _more_signatures(task_model)
    if fmt == "tflite":
        return [
            "LiteRT (`ai-edge-litert`) with tensorflow-text's TFLite kernels for the custom ops `FastBertNormalize`, "
            "`FastWordpieceTokenizeWithOffsets` and `RaggedTensorToTensor`; `kbz.export.tflite_interpreter` "
            "registers them. Not for TF Serving.",
            "",
            "```python",
            "import numpy as np",
            "import keras_bert_zoo as kbz",
            f"runner = kbz.export.tflite_interpreter(\"{name}.tflite\").get_signature_runner()",
            "print(runner(" + ", ".join(f"{key}=np.array([\"a great movie\"], object)" for key in input_names) + "))",
            "```",
            "",
            f"From the command line: `keras-bert-zoo predict {name}.tflite TEXT` (`keras-bert-zoo predict --help`).",
        ]
    return [
        "onnxruntime. Ids in: the tokenizer is not inside the file. Not for TF Serving.",
        "",
        "```python",
        "import onnxruntime",
        "session = onnxruntime.InferenceSession(\"" + name + ".onnx\", providers=[\"CPUExecutionProvider\"])",
        "ids = {k: v.numpy() for k, v in preprocessor([\"a great movie\"]).items()}  # the training BertPreprocessor",
        "print(session.run(None, ids))",
        "```",
        "",
        f"Exported with its preprocessor, the file has the tokenizer's files and settings beside it "
        f"(`{name}.onnx.tokenizer/`, `{name}.onnx.preprocessing.json`), and `keras-bert-zoo predict {name}.onnx TEXT` "
        "(or `keras_bert_zoo.export.file_clients.OnnxModel`) takes raw text and answers as the SavedModel export does.",
    ]


def _more_signatures(task_model):
    if not isinstance(task_model, BertEncoderDecoder):
        return ["A second signature, `from_ids`, takes the encoder's int32 " +
                _and(_encoder_input_names(task_model)) + "."]
    from keras_bert_zoo.export.serving.generator import GENERATION_OPTIONS  # TensorFlow: for generators only

    return [
        "`serving_default` generates with the options fixed at export. The `generate` signature takes `text` and "
        "every option as a scalar input (" + _and([f"`{name}`" for name in GENERATION_OPTIONS]) + "); scalars do "
        "not fit REST's row format, so call it over gRPC or with REST's columnar `\"inputs\"` format. A third, "
        "`from_ids`, takes the encoder's int32 `encoder_token_ids` and `encoder_padding_mask`.",
        "",
        "Outputs: `generated_text` (special tokens skipped, as transformers' `decode(skip_special_tokens=True)`), "
        "`token_ids` (start token first, padded to the batch's longest) and `num_tokens`.",
        "",
        "From the command line: `keras-bert-zoo predict <base path> TEXT` prints the generated text.",
    ]


def _py(value):
    return json.dumps(value, ensure_ascii=False)


def rest_instance(task_model, default_warmup):
    """The example request row of a SavedModel card: its first built-in warmup example, with the inputs it names
    ("a great movie" for a single-text classifier)."""
    instance = dict(default_warmup[0])
    if isinstance(task_model, BertClassifier) and list(instance) == ["text"]:
        instance["text"] = "a great movie"
    return instance
