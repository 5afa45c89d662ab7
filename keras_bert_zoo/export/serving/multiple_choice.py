"""Serving a `BertMultipleChoice`: a context and its candidate answers in, the best one out.

`serving_default` inputs: `context` [batch] and `choices` [batch, num_choices] strings; each
(context, choice) pair is packed as in training (truncated to the preprocessor's
`sequence_length`). Outputs: `probabilities` [batch, num_choices] float32, `label_id` [batch]
int32 (the chosen choice) and `answer` [batch] string (its text). `from_ids` takes the encoder's
inputs with a choices axis, [batch, num_choices, seq], and returns the same but `answer`.

Example:
>>> graph = multiple_choice_graph(model, preprocessor)  # doctest: +SKIP
>>> MULTIPLE_CHOICE.describe({"answer": "a bike", "label_id": 1, "probabilities": [0.25, 0.75]})
"'a bike' (0.750)"
"""

import tensorflow as tf

from keras_bert_zoo.data.features.multiple_choice import pack_choices
from keras_bert_zoo.export.serving.graph import (
    OutputSchema,
    ServingGraph,
    ServingLimits,
    TaskServing,
    ids_inputs,
    in_chunks,
    string_inputs,
)


def multiple_choice_graph(model, preprocessor, limits=ServingLimits()):
    """`serving_default` and `from_ids` of a multiple-choice model (one context, `num_choices` choices);
    the encoder runs on `limits.encoder_batch_size` pairs at a time (at least one context's)."""
    num_choices = model.num_choices
    contexts_at_once = max(1, limits.encoder_batch_size // num_choices)

    def from_ids(inputs):
        probabilities = tf.nn.softmax(model(inputs, training=False), axis=-1)
        return {"probabilities": probabilities, "label_id": tf.argmax(probabilities, -1, output_type=tf.int32)}

    def serve(texts):
        context, choices = texts
        outputs = from_ids(pack_choices(preprocessor, context, choices))
        outputs["answer"] = tf.gather(choices, outputs["label_id"], batch_dims=1)
        return outputs

    def serve_text(context, choices):
        return in_chunks(serve, limits.check_texts(context=context, choices=choices), contexts_at_once)

    return ServingGraph(
        serve_text=serve_text,
        text_inputs=[*string_inputs("context"), *string_inputs("choices", shape=(None, num_choices))],
        from_ids=from_ids,
        ids_inputs=ids_inputs(preprocessor.output_names, shape=(None, num_choices, None)),
        default_warmup=[{"context": "The glass fell off the table.",
                         "choices": [f"Choice {i + 1}." for i in range(num_choices)]}],
    )


MULTIPLE_CHOICE = OutputSchema(
    frozenset({"probabilities", "label_id", "answer"}),
    lambda example: f"{example['answer']!r} ({example['probabilities'][example['label_id']]:.3f})",
)

SERVING = TaskServing(
    kind="BertMultipleChoice",
    graph=lambda model, preprocessor, options, limits: multiple_choice_graph(model, preprocessor, limits),
    schemas=(MULTIPLE_CHOICE,),
)
