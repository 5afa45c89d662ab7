"""BertEncoderDecoder generation: greedy and beam search give transformers' `EncoderDecoderModel.generate` token ids
(length penalty, n-gram blocking, min length, early stopping, rows ending at different steps, padded encoder
batches); sampling is seeded, stays in the top-k / nucleus of each step's distribution and draws the first token
as softmax says; every option can be a run-time tensor (the SavedModel's contract) and XLA gives the graph's ids;
bad options are named."""

import numpy as np
import pytest
import tensorflow as tf
import torch
from test_encoder_decoder import hf_encoder_decoder, hf_logits, seq2seq_inputs, torch_seq2seq

import keras_bert_zoo as kbz
from keras_bert_zoo.models.encoder_decoder import decoding_step, generation

BASE = dict(max_length=10, start_token_id=2, end_token_id=3, pad_token_id=1)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """(transformers model, ours loaded from its folder, the encoder inputs of 4 rows, padded but row 0)."""
    theirs = hf_encoder_decoder()
    folder = tmp_path_factory.mktemp("hf")
    theirs.save_pretrained(folder)
    inputs = {key: value for key, value in seq2seq_inputs(batch=4).items() if key.startswith("encoder_")}
    return theirs, kbz.load(folder), inputs


@pytest.fixture(scope="module")
def greedy(models):
    """transformers' greedy ids with BASE: their tokens make end tokens that end rows at different steps."""
    return hf_generate(models[0], models[2], **BASE)


@pytest.fixture(scope="module")
def run_time(models):
    """`generate_ids` traced once with every option a run-time scalar tensor, as the SavedModel takes them;
    `run_time(inputs, **options)` -> the real ids."""
    ours = models[1]
    specs = {name: tf.TensorSpec((), dtype) for name, dtype in generation.DTYPES.items()}
    ids = tf.TensorSpec((None, None), tf.int32)
    function = tf.function(lambda token_ids, mask, options: generation.generate_ids(ours, token_ids, mask, options),
                           input_signature=[ids, ids, specs])

    def run(inputs, **options):
        options = generation.options_with_defaults(**options)
        values = {name: tf.constant(value, generation.DTYPES[name]) for name, value in options.items()}
        tokens, length = function(inputs["encoder_token_ids"], inputs["encoder_padding_mask"], values)
        return tokens.numpy()[:, :int(length)]

    return run


def hf_generate(model, inputs, start_token_id, end_token_id, pad_token_id, **settings):
    with torch.no_grad():
        return model.generate(**torch_seq2seq(inputs), decoder_start_token_id=start_token_id, eos_token_id=end_token_id,
                              pad_token_id=pad_token_id, **settings).numpy()


def test_greedy_generate_gives_transformers_token_ids(models):
    """Cached greedy decoding (model.generate) = EncoderDecoderModel.generate(num_beams=1): with an end token no
    row reaches, then with one that ends rows at different steps (pad after it, as long as the longest row)."""
    theirs, ours, inputs = models
    settings = dict(max_length=12, start_token_id=2, end_token_id=3, pad_token_id=0)
    unended = ours.generate(inputs, **settings)
    np.testing.assert_array_equal(unended, hf_generate(theirs, inputs, **settings))
    assert unended.shape == (4, 12) and (unended[:, 0] == 2).all()
    end = int(unended[0, 4])  # row 0 ends at step 4, the others where this token first comes, or never
    ended = ours.generate(inputs, **{**settings, "end_token_id": end})
    np.testing.assert_array_equal(ended, hf_generate(theirs, inputs, **{**settings, "end_token_id": end}))
    assert ended[0, 4] == end and (ended[0, 5:] == 0).all()


@pytest.mark.parametrize("share", [False, True])
def test_cached_steps_give_the_teacher_forced_logits(share):
    """The decoding step (the decoder's weights read once, a fused query/key/value matmul, caches written per
    step) = the model's layers run on the whole target, position by position, on a padded encoder batch."""
    model = kbz.BertEncoderDecoder(kbz.BertEncoder(50, 2, 2, 32, 64, max_sequence_length=40),
                                   share_encoder_decoder=share)
    inputs = {**seq2seq_inputs(batch=3), "decoder_padding_mask": np.ones((3, 7), "int32")}
    inputs["decoder_token_ids"][:, 0] = 2  # the start token
    expected = model(inputs)["logits"].numpy()
    decoder = decoding_step.weights_of(model)
    logits, state = decoding_step.start(model, decoder, inputs["encoder_token_ids"], inputs["encoder_padding_mask"],
                                        start_token_id=2, max_length=7)
    steps = [logits.numpy()]
    for index in range(1, 7):
        logits, state = decoding_step.advance(decoder, inputs["decoder_token_ids"][:, index], index, state)
        steps.append(logits.numpy())
    difference = np.abs(np.stack(steps, axis=1) - expected).max()
    assert difference <= 1e-5, difference


def test_a_quantized_decoder_is_refused_and_a_quantized_encoder_generates():
    def build():
        return kbz.BertEncoderDecoder(kbz.BertEncoder(50, 1, 2, 32, 64, max_sequence_length=40))

    inputs = {key: value for key, value in seq2seq_inputs().items() if key.startswith("encoder_")}
    encoder_int8 = build()
    encoder_int8.encoder.quantize("int8")
    assert encoder_int8.generate(inputs, max_length=4, start_token_id=2, end_token_id=3).shape[0] == 3
    model = build()
    model.quantize("int8")
    with pytest.raises(ValueError, match=r"decoder_layer_0 is quantized. Quantize the encoder only"):
        model.generate(inputs, max_length=4, start_token_id=2, end_token_id=3)


SEARCHES = [
    dict(num_beams=2, length_penalty=0.5),
    dict(num_beams=4, length_penalty=2.0, no_repeat_ngram_size=2),
    dict(num_beams=4, min_length=8),
    dict(num_beams=1, no_repeat_ngram_size=2, min_length=6),
]


@pytest.mark.parametrize("settings", SEARCHES, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_search_gives_transformers_token_ids(models, run_time, greedy, settings):
    """With every option a run-time tensor: an end token no hypothesis reaches, then one that ends rows' best
    hypotheses at different steps. (pad_token_id is 1: transformers' beam search fills with the end token
    when pad_token_id is 0, a falsy value; ours always fills with pad_token_id.)"""
    theirs, _, inputs = models
    for end in (3, int(greedy[0, 4])):
        options = {**BASE, **settings, "end_token_id": end}
        np.testing.assert_array_equal(run_time(inputs, **options), hf_generate(theirs, inputs, **options),
                                      err_msg=str(options))


def test_early_stopping_and_length_penalty_change_the_search(models, run_time, greedy):
    """early_stopping True and False, length_penalty 2 and 0.5 give other ids here, the same as transformers'."""
    theirs, _, inputs = models
    outputs = {}
    for settings in (dict(length_penalty=2.0), dict(length_penalty=2.0, early_stopping=True),
                     dict(length_penalty=0.5)):
        options = {**BASE, "num_beams": 4, "end_token_id": int(greedy[0, 1]), **settings}
        outputs[str(settings)] = run_time(inputs, **options)
        np.testing.assert_array_equal(outputs[str(settings)], hf_generate(theirs, inputs, **options))
    assert len({value.tobytes() + bytes(value.shape) for value in outputs.values()}) == 3


def test_sampling_is_seeded_eagerly_and_in_a_graph(models, run_time):
    _, ours, inputs = models
    options = {**BASE, "do_sample": True, "top_k": 0, "seed": 7}
    graph = run_time(inputs, **options)
    np.testing.assert_array_equal(run_time(inputs, **options), graph)
    eager, length = generation.generate_ids(ours, inputs["encoder_token_ids"], inputs["encoder_padding_mask"],
                                            generation.options_with_defaults(**options))
    np.testing.assert_array_equal(eager.numpy()[:, :int(length)], graph)
    others = {run_time(inputs, **{**options, "seed": seed}).tobytes() for seed in range(8)}
    assert len(others) > 1  # other seeds, other draws


def test_top_k_1_samples_the_greedy_ids(models, run_time, greedy):
    np.testing.assert_array_equal(run_time(models[2], **BASE, do_sample=True, top_k=1, seed=3), greedy)


def _allowed(logits, top_k, top_p):
    """[rows, vocab] bool: the tokens top-k then top-p keep (transformers' warpers, written out with numpy)."""
    kth = np.sort(logits, axis=-1)[:, ::-1][:, top_k - 1:top_k]
    logits = np.where(logits < kth, -np.inf, logits)
    probabilities = np.exp(logits - logits.max(-1, keepdims=True))
    probabilities /= probabilities.sum(-1, keepdims=True)
    order = np.argsort(-probabilities, axis=-1, kind="stable")
    before = np.cumsum(np.take_along_axis(probabilities, order, -1), -1) - np.take_along_axis(probabilities, order, -1)
    keep = np.zeros_like(probabilities, bool)
    np.put_along_axis(keep, order, before < top_p - 1e-6, -1)
    return keep & np.isfinite(logits)


@pytest.mark.parametrize("top_k, top_p", [(5, 1.0), (50, 0.6), (4, 0.8)])
def test_every_sampled_token_is_in_the_top_k_and_the_nucleus(models, run_time, top_k, top_p):
    """Teacher-forced logits (transformers') of each sampled sequence: every token after the start token, up to
    the row's end, is among the step's top-k and in its top-p nucleus."""
    theirs, _, inputs = models
    for seed in range(4):
        ids = run_time(inputs, **BASE, do_sample=True, top_k=top_k, top_p=top_p, seed=seed)
        decoder = {"decoder_token_ids": ids[:, :-1], "decoder_padding_mask": np.ones_like(ids[:, :-1])}
        logits = hf_logits(theirs, {**inputs, **decoder})
        for row in range(len(ids)):
            for step in range(1, ids.shape[1]):
                if ids[row, step - 1] == BASE["end_token_id"] or (step > 1 and ids[row, step - 1] == 1):
                    break  # the row had ended
                allowed = _allowed(logits[row, step - 1][None], top_k, top_p)[0]
                assert allowed[ids[row, step]], (seed, row, step)
                assert allowed.sum() < 50


def test_first_token_is_drawn_as_softmax_says(models, run_time):
    """4 seeds x 1,000 copies of one source: the first sampled token's frequencies match softmax of the first
    step's logits (plain, and renormalized over the top 5) within 4 standard errors (+ 0.002) for every token."""
    theirs, _, inputs = models
    copies = {name: np.repeat(value[1:2], 1000, axis=0) for name, value in inputs.items()}
    start = {"decoder_token_ids": np.full((1, 1), 2, "int32"), "decoder_padding_mask": np.ones((1, 1), "int32")}
    logits = hf_logits(theirs, {**{name: value[1:2] for name, value in inputs.items()}, **start})[0, 0]
    for top_k in (0, 5):
        kept = logits if top_k == 0 else np.where(logits < np.sort(logits)[-top_k], -np.inf, logits)
        expected = np.exp(kept - kept.max())
        expected /= expected.sum()
        draws = np.concatenate([run_time(copies, **{**BASE, "max_length": 2}, do_sample=True, top_k=top_k,
                                         seed=seed)[:, 1] for seed in range(4)])
        frequencies = np.bincount(draws, minlength=len(expected)) / len(draws)
        tolerance = 4 * np.sqrt(expected * (1 - expected) / len(draws)) + 0.002
        assert (np.abs(frequencies - expected) <= tolerance).all(), np.abs(frequencies - expected).max()
        assert (frequencies[expected == 0] == 0).all()


def test_xla_gives_the_graph_ids(models, run_time, greedy):
    """model.generate(jit_compile=True) (max_length and num_beams fixed, the rest run-time) = the graph of
    run-time options, for seeded beam sampling with n-gram blocking (one XLA compile: it is slow on 2 cores;
    the Philox bits are the same under XLA, and beam sampling runs the beam search's code)."""
    _, ours, inputs = models
    options = {**BASE, "end_token_id": int(greedy[0, 4]), "num_beams": 2, "no_repeat_ngram_size": 2,
               "length_penalty": 0.5, "do_sample": True, "top_k": 10, "top_p": 0.9, "seed": 11}
    np.testing.assert_array_equal(ours.generate(inputs, **options, jit_compile=True), run_time(inputs, **options))


@pytest.mark.parametrize("option, value, message", [
    ("num_beams", 0, "num_beams=0 must be >= 1"),
    ("top_p", 0.0, r"top_p=0.0 must be in \(0, 1\]"),
    ("top_p", 1.5, r"top_p=1.5 must be in \(0, 1\]"),
    ("top_k", -1, "top_k=-1 must be >= 0"),
    ("min_length", 11, r"min_length=11 must be in \[0, max_length\]"),
    ("no_repeat_ngram_size", -2, "no_repeat_ngram_size=-2 must be >= 0"),
    ("max_length", 513, r"max_length=513 must be in \[2, 512\]: it counts the start token"),
    ("end_token_id", 50, r"end_token_id=50 must be a token id in \[0, 50\)"),
    ("length_penalty", float("nan"), "length_penalty=nan must be a finite number"),
])
def test_a_bad_option_is_named(option, value, message):
    model = kbz.BertEncoderDecoder(kbz.BertEncoder(50, 1, 2, 32, 64))
    inputs = {"encoder_token_ids": np.ones((1, 3), "int32"), "encoder_padding_mask": np.ones((1, 3), "int32")}
    with pytest.raises(ValueError, match=f"generate: {message}"):
        model.generate(inputs, **{**BASE, "pad_token_id": 0, option: value})


def test_a_bad_run_time_option_is_named_and_an_empty_batch_answers(models, run_time):
    with pytest.raises(tf.errors.InvalidArgumentError, match="generate: num_beams must be >= 1"):
        run_time(models[2], **BASE, num_beams=0)
    empty = {name: value[:0] for name, value in models[2].items()}
    for beams in (1, 3):
        assert run_time(empty, **BASE, num_beams=beams).shape[0] == 0


def test_generate_names_what_it_lacks():
    model = kbz.BertEncoderDecoder(kbz.BertEncoder(50, 1, 2, 32, 64))
    inputs = {"encoder_token_ids": np.ones((1, 3), "int32"), "encoder_padding_mask": np.ones((1, 3), "int32")}
    with pytest.raises(ValueError, match="start_token_id is needed: the model has no preprocessor"):
        model.generate(inputs)
    with pytest.raises(ValueError, match="encoder_inputs lacks encoder_padding_mask"):
        model.generate({"encoder_token_ids": inputs["encoder_token_ids"]}, start_token_id=2, end_token_id=3)
    with pytest.raises(TypeError, match="generate: unknown option num_beam; the options are"):
        generation.options_with_defaults(num_beam=2, start_token_id=2, end_token_id=3)
