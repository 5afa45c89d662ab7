"""What the sequence-to-sequence tasks (`translate`, `summarize`) share: their loss, their decoding flags,
generating text for a list of sources, and the text-to-text export step.

Example:
>>> import numpy as np
>>> loss = SmoothedCrossEntropy(label_smoothing=0.1)
>>> logits = np.log(np.array([[[0.7, 0.2, 0.1]]], "float32"))
>>> round(float(loss(np.array([[0]]), logits, np.array([[1.0]]))), 4)  # 0.9 * -log 0.7 + 0.1 * mean(-log p)
0.4633
"""

from keras_bert_zoo.quiet import import_tensorflow

import_tensorflow()  # without its start-up log lines (KERAS_BERT_ZOO_VERBOSE=1 shows them)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_bert_zoo.data.seq2seq import decode_ids  # noqa: E402
from keras_bert_zoo.export.saved_model_export import saved_model  # noqa: E402
from keras_bert_zoo.models.encoder_decoder.model import ENCODER_PADDING_MASK, ENCODER_TOKEN_IDS  # noqa: E402
from keras_bert_zoo.names import PADDING_MASK, TOKEN_IDS  # noqa: E402


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class SmoothedCrossEntropy(keras.losses.Loss):
    """Next-token cross-entropy from logits [batch, length, vocabulary] with label smoothing (Szegedy et al.
    2016, as "Attention is all you need" trains): the target gets 1 - `label_smoothing` of the probability,
    every token `label_smoothing` / vocabulary. Averaged over the tokens whose sample weight is not 0 (the
    padding's is), not over the padded batch. Written by hand: Keras' sparse cross-entropy has no smoothing,
    and its dense one would need one-hot labels as wide as the vocabulary."""

    def __init__(self, label_smoothing=0.0, name="smoothed_cross_entropy", **kwargs):
        super().__init__(name=name, reduction="mean_with_sample_weight", **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        log_probs = keras.ops.log_softmax(keras.ops.cast(y_pred, "float32"), axis=-1)
        labels = keras.ops.cast(y_true, "int32")[..., None]
        nll = -keras.ops.squeeze(keras.ops.take_along_axis(log_probs, labels, axis=-1), axis=-1)
        uniform = -keras.ops.mean(log_probs, axis=-1)
        return (1.0 - self.label_smoothing) * nll + self.label_smoothing * uniform

    def get_config(self):
        return {"name": self.name, "label_smoothing": self.label_smoothing}


def add_decoding_flags(parser, num_beams=1, no_repeat_ngram_size=0):
    """--num-beams, --length-penalty and --no-repeat-ngram-size: how the task decodes its test set and what its
    export does by default (`decoding_options` reads them)."""
    parser.add_argument("--num-beams", type=int, default=num_beams, help="beams of the search (1: greedy)")
    parser.add_argument("--length-penalty", type=float, default=1.0,
                        help="beam scores are divided by length ** this (transformers' meaning)")
    parser.add_argument("--no-repeat-ngram-size", type=int, default=no_repeat_ngram_size,
                        help="never repeat an n-gram of this size in an output (0: allowed)")


def decoding_options(args):
    """The `model.generate` options the flags of `add_decoding_flags` give."""
    return {"num_beams": args.num_beams, "length_penalty": args.length_penalty,
            "no_repeat_ngram_size": args.no_repeat_ngram_size}


def generate_texts(model, preprocessor, target_tokenizer, sources, batch_size, max_length, progress=None,
                   **options):
    """The model's output text for each of `sources` (in their order), decoded with `target_tokenizer`
    (`decode_ids`): greedy, or as `options` (`model.generate`'s: num_beams, no_repeat_ngram_size, ...) say.
    Sources go in batches of similar length (fewer padded positions), each padded to its longest;
    `progress(done, total)` is called after each batch."""
    lengths = [len(text) for text in sources]
    order = np.argsort(lengths, kind="stable")
    outputs = [None] * len(sources)
    for start in range(0, len(sources), batch_size):
        rows = order[start:start + batch_size]
        encoded = preprocessor([sources[row] for row in rows])
        ids = model.generate({ENCODER_TOKEN_IDS: encoded[TOKEN_IDS], ENCODER_PADDING_MASK: encoded[PADDING_MASK]},
                             max_length=max_length, start_token_id=target_tokenizer.cls_id,
                             end_token_id=target_tokenizer.sep_id, pad_token_id=target_tokenizer.pad_id, **options)
        for row, row_ids in zip(rows, ids):
            outputs[row] = decode_ids(target_tokenizer, row_ids[1:])
        if progress is not None:
            progress(min(start + batch_size, len(sources)), len(sources))
    return outputs


def export_generator(model, export_dir, target_tokenizer, card=None, **generation):
    """The task's text-to-text SavedModel (raw source strings in, generated text out) under `export_dir`, through
    `keras_bert_zoo.export.saved_model` with the decoder's `target_tokenizer` and the `generation` options
    (max_length, num_beams, ...) as the serving defaults; returns its path. It serves the text `generate_texts`
    scores (punctuation spaced as written)."""
    path = saved_model(model, export_dir, target_tokenizer=target_tokenizer, generation=generation,
                       written_spacing=True, card=card)
    print(f"export: SavedModel in {path}", flush=True)
    return path
