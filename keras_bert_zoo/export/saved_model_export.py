"""SavedModel export for TF Serving: raw strings in, decoded task outputs out.

Every export has two signatures. `serving_default` takes raw strings and runs the same in-graph
preprocessing as training (`keras_bert_zoo.text`, `keras_bert_zoo.data`); `from_ids` takes the
encoder's int32 `token_ids`, `segment_ids` and `padding_mask`. What each task takes and returns
(names, padding values, truncation) is documented in its serving module, found through the registry
`keras_bert_zoo.export.serving` (`serving.classifier`, `serving.token_classifier`, `serving.span_qa`,
`serving.multiple_choice`, `serving.encoder`).

A request holds at most `max_texts_per_request` rows of at most `max_chars_per_text` characters
(and, for span QA, `max_windows_per_context` windows a context), else it fails with an
`InvalidArgument` error naming the limit; the encoder runs on `encoder_batch_size` rows at a time,
so the memory a request takes is bounded (`serving.ServingLimits`).

Example:
>>> classifier = kbz.BertClassifier(  # doctest: +SKIP
...     encoder, 2, label_names=["negative", "positive"], preprocessor=preprocessor)
>>> path = saved_model(classifier, "saved_models/sst2")  # doctest: +SKIP
"""

import dataclasses
import json
from pathlib import Path

from keras_bert_zoo import compat
from keras_bert_zoo.export.model_card import SAVED_MODEL_CARD, check_facts, model_card, rest_instance
from keras_bert_zoo.export.saved_model_files import warmup_inputs, write_version, write_warmup_requests
from keras_bert_zoo.export.serving import (
    TASKS,
    ServingLimits,
    ServingOptions,
    check_options,
    model_contract,
    task_serving,
)
from keras_bert_zoo.export.serving.classifier import classifier_label_names
from keras_bert_zoo.models import BertPretrainer
from keras_bert_zoo.progress import phase


def serving_graph(task_model, preprocessor, options=ServingOptions(), limits=ServingLimits(), kind=None):
    """The task's `ServingGraph`, after checking that the `ServingOptions` apply to it.

    `kind` (default: the model's class) names the task: a stand-in for a model (the ONNX client's)
    passes the name of the class it stands for.
    """
    if isinstance(task_model, BertPretrainer):  # what serves of a pretrained model is its encoder
        task_model = task_model.encoder
    task = task_serving(task_model, kind)
    if task is None:
        raise TypeError(f"No SavedModel export for a {kind or type(task_model).__name__}: export a "
                        f"{', a '.join(TASKS)}.")
    return task.graph(task_model, preprocessor, check_options(task, options), limits)


def saved_model(
    task_model, base_path, *, preprocessor=None, pair=False, warmup_examples=None, max_chars_per_text=1_000_000,
    max_texts_per_request=1_000, max_windows_per_context=1_000, encoder_batch_size=64, card=None,
    target_tokenizer=None, generation=None, written_spacing=False,
):
    """Writes `<base_path>/<next version>/`, a SavedModel TF Serving loads, and returns its path.

    Everything the graph needs comes from the model (`BertTask`): its `preprocessor` (tokenizer and
    `sequence_length` go into the graph), its label names (class names of a classifier, "0", "1", ...
    when it has none; the tag of each class of a token classifier, required there), `pair` (a
    classifier of text pairs takes `text_a` and `text_b`) and a span QA model's windows and decoding.

    Args:
        task_model: a `BertClassifier`, `BertTokenClassifier`, `BertSpanQA`, `BertMultipleChoice`
            or a bare `BertEncoder` (sentence embeddings; a `BertPretrainer` exports its encoder).
        preprocessor, pair: for a bare `BertEncoder`, which has neither: its `BertPreprocessor`, and
            whether it embeds text pairs.
        warmup_examples: requests TF Serving replays at load
            (`assets.extra/tf_serving_warmup_requests`, see `keras_bert_zoo.export.saved_model_files`): a list
            of examples, each a string for one-input signatures, a tuple in input order or a dict
            by input name. Each is run through `serving_default` before anything is written.
            None: a couple of built-in examples.
        max_chars_per_text, max_texts_per_request, max_windows_per_context: what one request may
            hold (characters of any one string, rows, span QA windows of one context); a request over
            a limit fails with an `InvalidArgument` error naming the limit. encoder_batch_size: rows
            the encoder runs on at once. Memory per request grows with these, not with the request
            (`keras_bert_zoo.export.serving.ServingLimits`); they are written to
            `assets.extra/serving_limits.json`.
        target_tokenizer, generation: for a `BertEncoderDecoder` (`serving.generator`): the `BertTokenizer` whose
            vocabulary the decoder writes (default: the preprocessor's) and the decoding options of
            `serving_default` (a dict, e.g. {"max_length": 64, "num_beams": 4}); its `generate` signature
            takes them per request. written_spacing: the generated text with punctuation spaced as written
            text spaces it ("T-Shirt, 2.5", `keras_bert_zoo.text.wordpiece_text.space_as_written`), not as
            transformers' `decode` leaves it ("T - Shirt, 2. 5").
        card: facts for the model card, `README.md` in the version folder (`keras_bert_zoo.export.model_card`):
            a dict with any of base_model, training_data, metrics {name: value}, command. The task, labels,
            limits, inputs and how to serve it are filled in without them.

    The version folder appears only once complete (`write_version`); a failure leaves nothing.
    """
    limits = ServingLimits(max_chars_per_text, max_texts_per_request, max_windows_per_context, encoder_batch_size)
    preprocessor, options = model_contract(task_model, preprocessor, pair)
    if target_tokenizer is not None or generation is not None or written_spacing:
        options = dataclasses.replace(options, target_tokenizer=target_tokenizer or options.target_tokenizer,
                                      generation=generation or options.generation,
                                      written_spacing=written_spacing or options.written_spacing)
    graph = serving_graph(task_model, preprocessor, options, limits)
    facts = check_facts(card)
    with phase(f"exporting a SavedModel to {base_path}"):
        archive = compat.export_archive()  # each variable stored once
        archive.track(task_model)
        archive.track(preprocessor)
        serve_text = archive.add_endpoint("serving_default", graph.serve_text, input_signature=graph.text_inputs)
        archive.add_endpoint("from_ids", graph.from_ids, input_signature=[graph.ids_inputs])
        for name, (function, input_signature) in graph.endpoints.items():
            archive.add_endpoint(name, function, input_signature=input_signature)
        warmup = warmup_inputs(graph.default_warmup if warmup_examples is None else warmup_examples, graph.text_inputs)
        for batch in warmup:  # a warmup request that fails would make TF Serving refuse the version
            serve_text(*[batch[spec.name] for spec in graph.text_inputs])

        def write(directory):
            archive.write_out(str(directory), verbose=False)
            write_warmup_requests(directory, warmup)
            limits_file = Path(directory) / "assets.extra" / "serving_limits.json"
            limits_file.write_text(json.dumps(dataclasses.asdict(limits)))
            (Path(directory) / SAVED_MODEL_CARD).write_text(text, encoding="utf-8")

        text = model_card(
            task_model, "saved_model", name=Path(base_path).resolve().name,
            input_names=[s.name for s in graph.text_inputs], facts=facts, pair=options.pair,
            label_names=_card_label_names(task_model, options.label_names),
            sequence_length=preprocessor.sequence_length, truncate=preprocessor.truncate,
            limits=_card_limits(limits), instance=rest_instance(task_model, graph.default_warmup),
        )

        return write_version(base_path, write)


def _card_label_names(task_model, label_names):
    """The label names the export answers with (None for a model without classes)."""
    if getattr(task_model, "num_classes", 1) > 1:
        return classifier_label_names(task_model.num_classes, label_names)
    return None


def _card_limits(limits):
    """The request limits of `serving_limits.json` a card lists (all but the encoder's batch size)."""
    return {k: v for k, v in dataclasses.asdict(limits).items() if k != "encoder_batch_size"}
