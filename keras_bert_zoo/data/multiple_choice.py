"""Multiple choice (SWAG, COPA, RACE): a tf.data pipeline of [batch, num_choices, seq] inputs.

An example is a context and `num_choices` candidate texts (`MultipleChoiceExamples`, see
`keras_bert_zoo.data.readers.multiple_choice`). `BertMultipleChoice` scores every pair
`[CLS] context [SEP] choice [SEP]`, packed by the `BertPreprocessor` (truncated as it truncates
pairs) in `keras_bert_zoo.data.features.pack_choices`, as Hugging Face's run_swag does.

Example:
>>> import json, os, tempfile
>>> import keras_bert_zoo as kbz
>>> from keras_bert_zoo.data import read_multiple_choice_jsonl
>>> path = os.path.join(tempfile.mkdtemp(), "copa.jsonl")
>>> line = {"context": "The glass fell.", "question": "What happened as a result?",
...         "choices": ["It broke.", "It sang."], "label": 0}
>>> _ = open(path, "w").write(json.dumps(line) + "\\n")
>>> examples = read_multiple_choice_jsonl(path)
>>> preprocessor = kbz.load_preprocessor("bert_tiny_uncased", sequence_length=32, padding="longest")
>>> inputs, labels = next(iter(multiple_choice_dataset(examples, preprocessor, batch_size=8)))
>>> tuple(inputs["token_ids"].shape), labels.numpy().tolist()
((1, 2, 16), [0])
"""

import tensorflow as tf

from keras_bert_zoo.data.features.multiple_choice import pack_choices
from keras_bert_zoo.data.options import DatasetOptions, build_dataset, encoder_inputs


def multiple_choice_dataset(examples, preprocessor, batch_size, *, shuffle=False, seed=0, **options):
    """(inputs, label) batches from `MultipleChoiceExamples`, inputs [batch, num_choices, seq]; inputs
    alone when the examples have no labels. Pairs are packed in the tf.data graph (`pack_choices`); with
    the preprocessor's `padding="longest"` each batch is padded to its longest pair.

    `options`: the other `DatasetOptions` fields (see `keras_bert_zoo.data.options`) except
    `bucket_by_sequence_length`; `cache` needs a preprocessor with `padding="max_length"`
    (cached examples are batched again, so they must have one length).
    """
    options = DatasetOptions(batch_size=batch_size, shuffle=shuffle, seed=seed, **options)
    padding = getattr(preprocessor, "padding", "max_length")
    pad_to = getattr(preprocessor, "sequence_length", None) if padding == "max_length" else None
    if options.bucket_by_sequence_length:
        raise ValueError("multiple_choice_dataset does not bucket by length: an example is several sequences.")
    if options.cache and pad_to is None:
        raise ValueError("cache=True in multiple_choice_dataset needs a preprocessor that pads to a fixed length "
                         "(padding='max_length' and a sequence_length).")
    texts = (tf.constant(examples.contexts, tf.string), tf.constant(examples.choices, tf.string))
    labelled = examples.labels is not None
    source = tf.data.Dataset.from_tensor_slices(
        (texts, tf.constant(examples.labels, tf.int32)) if labelled else texts)

    def encode(batch):
        (contexts, choices), labels = batch if labelled else (batch, None)
        features = pack_choices(preprocessor, contexts, choices)
        return {**features, "label": labels} if labelled else features

    def to_model(features):
        inputs = encoder_inputs(features)
        return (inputs, features["label"]) if labelled else inputs

    pad_id = getattr(getattr(preprocessor, "tokenizer", None), "pad_id", 0)
    return build_dataset(
        source, len(examples.contexts), encode, to_model, options, pad_to=pad_to,
        sequence_keys={"token_ids": pad_id, "segment_ids": 0, "padding_mask": 0},
    )
