"""`generate_ids`: the one entry point exports call to decode with a `BertEncoderDecoder`, every option a run-time
value.

TEMPORARY (export branch): this stand-in runs today's cached greedy search and ignores the options that choose
beams or sampling; the generation branch's module of the same name and signature replaces it at merge.

Example:
>>> import keras, keras_bert_zoo as kbz
>>> model = kbz.BertEncoderDecoder(kbz.BertEncoder(100, 2, 2, 32, 64))
>>> options = {"max_length": 6, "min_length": 0, "num_beams": 1, "length_penalty": 1.0, "no_repeat_ngram_size": 0,
...            "early_stopping": False, "do_sample": False, "top_k": 50, "top_p": 1.0, "seed": 0,
...            "start_token_id": 2, "end_token_id": 3, "pad_token_id": 0}
>>> ids, length = generate_ids(model, keras.ops.ones((2, 7), "int32"), keras.ops.ones((2, 7), "int32"), options)
>>> tuple(ids.shape), int(length) <= 6
((2, 6), True)
"""

from keras_bert_zoo.models.encoder_decoder import greedy_search


def generate_ids(model, encoder_token_ids, encoder_padding_mask, options):
    """Token ids int32 [batch, max_length] (padded with `pad_token_id`) and the real length, an int32 scalar.

    `options`: a dict of max_length, min_length, num_beams, length_penalty, no_repeat_ngram_size, early_stopping,
    do_sample, top_k, top_p, seed, start_token_id, end_token_id, pad_token_id, each a scalar (a tensor known only
    at run time inside a `tf.function`)."""
    return greedy_search.greedy_search(model, encoder_token_ids, encoder_padding_mask, options["max_length"],
                                       options["start_token_id"], options["end_token_id"], options["pad_token_id"])
