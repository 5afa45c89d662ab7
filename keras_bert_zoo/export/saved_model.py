"""SavedModel export for TF Serving: raw strings in, decoded task outputs out.

Every export has two signatures. `serving_default` takes raw strings and runs the same in-graph
preprocessing as training (`keras_bert_zoo.text`, `keras_bert_zoo.data`); `from_ids` takes the
encoder's int32 `token_ids`, `segment_ids` and `padding_mask`. What each task takes and returns
(names, padding values, truncation) is documented in its serving module:

- `BertClassifier`: `keras_bert_zoo.export.serving_classifier`
- `BertTokenClassifier`: `keras_bert_zoo.export.serving_token_classifier`
- `BertSpanQA`: `keras_bert_zoo.export.serving_span_qa`
- `BertMultipleChoice`: `keras_bert_zoo.export.serving_multiple_choice`
- `BertEncoder`: `keras_bert_zoo.export.serving_encoder`

A request holds at most `max_texts_per_request` rows of at most `max_chars_per_text` characters
(and, for span QA, `max_windows_per_context` windows a context), else it fails with an
`InvalidArgument` error naming the limit; the encoder runs on `encoder_batch_size` rows at a time,
so the memory a request takes is bounded (`serving_graph.ServingLimits`).

Example:
>>> path = saved_model(classifier, preprocessor, "saved_models/sst2", ["negative", "positive"])  # doctest: +SKIP
"""

import dataclasses
import json
from pathlib import Path

import keras

from keras_bert_zoo.export.model_card import SAVED_MODEL_CARD, check_facts, model_card, rest_instance
from keras_bert_zoo.export.serving_classifier import classifier_graph, classifier_label_names
from keras_bert_zoo.export.serving_encoder import encoder_graph
from keras_bert_zoo.export.serving_graph import ServingLimits
from keras_bert_zoo.export.serving_multiple_choice import multiple_choice_graph
from keras_bert_zoo.export.serving_span_qa import span_qa_graph
from keras_bert_zoo.export.serving_token_classifier import token_classifier_graph
from keras_bert_zoo.export.versions import write_version
from keras_bert_zoo.export.warmup import warmup_inputs, write_warmup_requests
from keras_bert_zoo.models import BertClassifier, BertMultipleChoice, BertPretrainer, BertSpanQA, BertTokenClassifier
from keras_bert_zoo.models.bert.backbone import BertEncoder
from keras_bert_zoo.progress import phase


def _serving_graph(task_model, preprocessor, label_names, pair, span_qa_options, limits):
    """The task's `ServingGraph`, after checking that the arguments apply to it."""
    if isinstance(task_model, BertPretrainer):  # what serves of a pretrained model is its encoder
        task_model = task_model.encoder
    kind = type(task_model).__name__
    if pair and not isinstance(task_model, (BertClassifier, BertEncoder)):
        raise ValueError(f"pair=True applies to a BertClassifier or a BertEncoder, not a {kind}.")
    if label_names is not None and not isinstance(task_model, (BertClassifier, BertTokenClassifier)):
        raise ValueError(f"label_names apply to a BertClassifier or a BertTokenClassifier, not a {kind}.")
    if isinstance(task_model, BertClassifier):
        return classifier_graph(task_model, preprocessor, label_names, pair, limits)
    if isinstance(task_model, BertTokenClassifier):
        return token_classifier_graph(task_model, preprocessor, label_names, limits)
    if isinstance(task_model, BertSpanQA):
        return span_qa_graph(task_model, preprocessor, **span_qa_options, limits=limits)
    if isinstance(task_model, BertMultipleChoice):
        return multiple_choice_graph(task_model, preprocessor, limits)
    if isinstance(task_model, BertEncoder):
        return encoder_graph(task_model, preprocessor, pair, limits)
    raise TypeError(
        f"No SavedModel export for a {kind}: export a BertClassifier, BertTokenClassifier, BertSpanQA, "
        "BertMultipleChoice or BertEncoder."
    )


def saved_model(
    task_model, preprocessor, base_path, label_names=None, pair=False, *, doc_stride=128, max_query_length=64,
    n_best=20, max_answer_length=30, null_score_threshold=0.0, warmup_examples=None, max_chars_per_text=1_000_000,
    max_texts_per_request=1_000, max_windows_per_context=1_000, encoder_batch_size=64, card=None,
):
    """Writes `<base_path>/<next version>/`, a SavedModel TF Serving loads, and returns its path.

    Args:
        task_model: a `BertClassifier`, `BertTokenClassifier`, `BertSpanQA`, `BertMultipleChoice`
            or a bare `BertEncoder` (sentence embeddings; a `BertPretrainer` exports its encoder).
        preprocessor: the `BertPreprocessor` used in training; its tokenizer and `sequence_length`
            go into the graph.
        label_names: class names of a classifier ("0", "1", ... if None; unused by a regressor), or
            the tag of each class of a token classifier (required there).
        pair: text pairs (`text_a`, `text_b`) for a classifier or an encoder.
        doc_stride, max_query_length, n_best, max_answer_length, null_score_threshold: span QA
            windows and decoding, as in `kbz.data.squad_windows` and `kbz.data.decode_answers`
            (the preprocessor's `sequence_length` is the window length).
        warmup_examples: requests TF Serving replays at load
            (`assets.extra/tf_serving_warmup_requests`, see `keras_bert_zoo.export.warmup`): a list
            of examples, each a string for one-input signatures, a tuple in input order or a dict
            by input name. Each is run through `serving_default` before anything is written.
            None: a couple of built-in examples.
        max_chars_per_text, max_texts_per_request, max_windows_per_context: what one request may
            hold (characters of any one string, rows, span QA windows of one context); a request over
            a limit fails with an `InvalidArgument` error naming the limit. encoder_batch_size: rows
            the encoder runs on at once. Memory per request grows with these, not with the request
            (`keras_bert_zoo.export.serving_graph.ServingLimits`); they are written to
            `assets.extra/serving_limits.json`.
        card: facts for the model card, `README.md` in the version folder (`keras_bert_zoo.export.model_card`):
            a dict with any of base_model, training_data, metrics {name: value}, command. The task, labels,
            limits, inputs and how to serve it are filled in without them.

    The version folder appears only once complete (`write_version`); a failure leaves nothing.
    """
    limits = ServingLimits(max_chars_per_text, max_texts_per_request, max_windows_per_context, encoder_batch_size)
    graph = _serving_graph(
        task_model, preprocessor, label_names, pair,
        {"doc_stride": doc_stride, "max_query_length": max_query_length, "n_best": n_best,
         "max_answer_length": max_answer_length, "null_score_threshold": null_score_threshold},
        limits,
    )
    facts = check_facts(card)
    with phase(f"exporting a SavedModel to {base_path}"):
        archive = keras.export.ExportArchive()
        archive.track(task_model)
        archive.track(preprocessor)
        serve_text = archive.add_endpoint("serving_default", graph.serve_text, input_signature=graph.text_inputs)
        archive.add_endpoint("from_ids", graph.from_ids, input_signature=[graph.ids_inputs])
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
            input_names=[s.name for s in graph.text_inputs], facts=facts, pair=pair,
            label_names=_card_label_names(task_model, label_names),
            sequence_length=preprocessor.sequence_length, truncate=preprocessor.truncate,
            limits=_card_limits(limits), instance=rest_instance(task_model, graph.default_warmup),
        )

        return write_version(base_path, write)


def _card_label_names(task_model, label_names):
    """The label names the export answers with (None for a model without classes)."""
    if isinstance(task_model, (BertClassifier, BertTokenClassifier)) and task_model.num_classes > 1:
        return classifier_label_names(task_model.num_classes, label_names)
    return None


def _card_limits(limits):
    """The request limits of `serving_limits.json` a card lists (all but the encoder's batch size)."""
    return {k: v for k, v in dataclasses.asdict(limits).items() if k != "encoder_batch_size"}
