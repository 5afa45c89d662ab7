"""SentencePieceTokenizer: ids and offsets equal to Hugging Face's fast tokenizer built from the same
.model (small unigram models trained here on SST-2, cased and lowercasing), fuzzing, in-graph use,
SavedModel (TF2 and TF1 loaders), .keras round trip, TFLite, layouts."""

import json
import time
import unicodedata
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import sentencepiece as spm
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tokenizer import hf_byte_offsets, sample_texts

from keras_bert_zoo.text.sentencepiece import LAYOUTS, SentencePieceTokenizer

SST2_TRAIN = Path(__file__).parents[1] / "recipes" / "data" / "sst2" / "train.tsv"
RULES = {"cased": "nmt_nfkc", "uncased": "nmt_nfkc_cf"}  # the .model's normalization (cf: case folding)
# HF's added tokens: written in the text, it matches them; we tokenize text as text (as BertTokenizer).
LITERAL_SPECIAL = ("<s>", "</s>", "<pad>", "<unk>", "<mask>")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """{casing: folder with sentencepiece.bpe.model}, trained on SST-2's training sentences (~1 s each)."""
    sentences = [line.split("\t")[0] for line in SST2_TRAIN.read_text(encoding="utf-8").splitlines()[1:]]
    folders = {}
    for casing, rule in RULES.items():
        folder = tmp_path_factory.mktemp(casing)
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences), model_prefix=str(folder / "sentencepiece.bpe"), vocab_size=800,
            model_type="unigram", normalization_rule_name=rule, byte_fallback=False, minloglevel=2,
        )
        folders[casing] = folder
    return folders


def model_file(folder):
    return folder / "sentencepiece.bpe.model"


@pytest.fixture(scope="module", params=list(RULES))
def pair(request, models):
    """(ours, Hugging Face's XLMRobertaTokenizerFast, sentencepiece's processor) on one trained .model."""
    from transformers import XLMRobertaTokenizerFast

    # transformers 5 builds the Unigram vocabulary from the .model only through from_pretrained on
    # its folder (`XLMRobertaTokenizerFast(vocab_file=...)` leaves its vocabulary empty).
    folder = models[request.param]
    hf = XLMRobertaTokenizerFast.from_pretrained(str(folder))
    processor = spm.SentencePieceProcessor(model_file=str(model_file(folder)))
    return SentencePieceTokenizer(model_file(folder)), hf, processor


def ours_with_offsets(tokenizer, texts):
    ids, begin, end = tokenizer.tokenize_with_offsets(tf.constant(texts, tf.string))
    return ids.to_list(), [list(zip(b, e)) for b, e in zip(begin.to_list(), end.to_list())]


def normalizations_differ(hf, processor, text):
    """True if HF's normalizer and SentencePiece's give different words: HF normalizes per grapheme
    cluster (one of 6 or more UTF-8 bytes character by character; a shorter one whose start only is in
    the table as that start's normalization, the rest dropped), SentencePiece by longest match."""
    ours = processor.normalize(text).replace("\u2581", " ").split()
    return ours != hf.backend_tokenizer.normalizer.normalize_str(text).split()


def hf_misaligned(hf, text):
    """True where HF's offsets are known wrong: its normalizer loses count of the characters it drops
    when they start the text or come after a character it expands ("…" -> "..."), and its spans are
    shifted from there on (a tokenizers bug); ours point at the characters the pieces come from."""
    normalized = {c: hf.backend_tokenizer.normalizer.normalize_str(c) for c in set(text)}
    dropped = [not normalized[c] for c in text]
    expanded = [len(normalized[c]) > 1 for c in text]
    last_dropped = max((i for i, d in enumerate(dropped) if d), default=-1)
    return last_dropped >= 0 and (dropped[0] or any(expanded[:last_dropped]))


def check_against_hf(ours, hf, processor, texts):
    ids, offsets = ours_with_offsets(ours, texts)
    ref = hf(texts, add_special_tokens=False, return_offsets_mapping=True)
    compared = 0
    for text, row, spans, ref_ids, ref_offsets in zip(texts, ids, offsets, ref["input_ids"], ref["offset_mapping"]):
        assert all(0 <= i < ours.vocabulary_size for i in row) and len(spans) == len(row)
        assert all(0 <= b <= e <= len(text.encode()) for b, e in spans)
        if any(s in text for s in LITERAL_SPECIAL) or normalizations_differ(hf, processor, text):
            continue
        assert row == ref_ids, ascii(text)
        if not hf_misaligned(hf, text):
            expected = hf_byte_offsets(text, ref_offsets)
            for token, span, (begin, end) in zip(row, spans, expected):
                # Documented: a run of unknown characters that normalization changed may span the dropped
                # characters and combining marks after it.
                tail = hf.backend_tokenizer.normalizer.normalize_str(text.encode()[end:span[1]].decode())
                assert span == (begin, end) or (
                    token == ours.unk_id and span[0] == begin and span[1] > end
                    and all(unicodedata.category(c).startswith("M") for c in tail)
                ), (ascii(text), spans, expected)
            compared += 1
    return compared


def shipped_texts():
    """The tokenizer tests' samples (SST-2 dev, CoNLL, SQuAD, multilingual) and the recipes' other
    texts: SST-2 train, the pretraining corpus, the multiple-choice contexts and choices."""
    data = Path(__file__).parents[1] / "recipes" / "data"
    sst2 = [line.split("\t")[0] for line in SST2_TRAIN.read_text(encoding="utf-8").splitlines()[1:]]
    corpus = [line for name in ("train.txt", "dev.txt")
              for line in (data / "pretraining" / name).read_text(encoding="utf-8").splitlines()]
    choices = [text for name in ("train.jsonl", "dev.jsonl")
               for line in (data / "multiple_choice" / name).read_text(encoding="utf-8").splitlines()
               for row in [json.loads(line)] for text in [row["context"], row["question"], *row["choices"]]]
    return sample_texts() + sst2 + corpus + choices


def test_ids_and_offsets_match_hf_on_shipped_texts(pair):
    ours, hf, processor = pair
    texts = shipped_texts()
    # One line of combining sequences is normalized differently: "o\u0302\u0323" loses its dot below in HF.
    assert check_against_hf(ours, hf, processor, texts) == len(texts) - 1
    flat = [i for row in ours(texts).to_list() for i in row]
    # A real reference: most pieces known (SST-2 is lowercase: the cased model knows few capitals).
    assert len(texts) > 15_000 and len(flat) > 400_000 and 0 < flat.count(ours.unk_id) < 0.1 * len(flat)


@pytest.mark.parametrize(
    "text",
    ["", " ", "   ", " \t\n\r\u3000\u2028\u2029 ", "  two  spaces  ", "\u200b\u200d\ufeff\u00ad", "\x00\x01\x7f\x9f",
     "a\x07b \x07c\x07", "x\x85y", "日本語 😀", "👨\u200d👩\u200d👧 👍🏽 🇩🇪", "ﬁne … ½ ①", "Straße ΣΑΣ", "cafe\u0301 x",
     "\ue000\U000f0000\U0010fffd"],
)
def test_edge_strings_match_hf(pair, text):
    assert check_against_hf(*pair, [text]) == 1


def test_differences_from_hf_are_as_documented(pair):
    ours, hf, processor = pair
    # HF matches its added tokens in the text; we read them as text.
    text = "a <mask> b"
    assert hf(text, add_special_tokens=False)["input_ids"][1:2] == [ours.mask_id]
    assert ours.mask_id not in ours(text).numpy().tolist()
    # Halfwidth "ｶ" + voiced mark (6 bytes): HF maps them one by one, we compose "ガ"; both unknown here,
    # so the ids agree and the unknown piece's span does not: the first character only, here.
    ids, offsets = ours_with_offsets(ours, ["ｶﾞx"])
    ref = hf("ｶﾞx", add_special_tokens=False, return_offsets_mapping=True)
    assert ids[0] == ref["input_ids"] and offsets[0][1] == (0, 3)
    assert hf_byte_offsets("ｶﾞx", ref["offset_mapping"])[1] == (0, 6)
    assert normalizations_differ(hf, processor, "ｶﾞx")
    # Dropped characters first: HF's spans point back at them, ours at the characters pieces come from.
    ids, offsets = ours_with_offsets(ours, ["\x1f\x1fab"])
    ref = hf("\x1f\x1fab", add_special_tokens=False, return_offsets_mapping=True)
    assert ids[0] == ref["input_ids"] and offsets[0] == [(2, 3), (3, 4)] and ref["offset_mapping"] == [(0, 1), (1, 2)]
    # "o" + circumflex + dot below: HF's table lookup finds "o\u0302" and drops the dot below.
    assert hf.backend_tokenizer.normalizer.normalize_str("o\u0302\u0323") == "\u00f4"
    assert processor.normalize("o\u0302\u0323") == "\u2581\u00f4\u0323"


def test_equally_scored_splits_break_ties_as_hf(tmp_path):
    """"000" from pieces "0" and "00": HF and sentencepiece 0.2 take "0", "00"; tf-text's
    SentencepieceTokenizer (an older sentencepiece) takes "00", "0", its Fast one as HF: ours."""
    import tensorflow_text as text
    from transformers import XLMRobertaTokenizerFast

    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(["b00 c00 d00 e0 f0 g0 h000"] * 50), model_prefix=str(tmp_path / "sentencepiece.bpe"),
        vocab_size=40, hard_vocab_limit=False, model_type="unigram", minloglevel=2,
    )
    ours, hf = SentencePieceTokenizer(model_file(tmp_path)), XLMRobertaTokenizerFast.from_pretrained(str(tmp_path))
    processor = spm.SentencePieceProcessor(model_file=str(model_file(tmp_path)))
    texts = ["000", "b000 c0000", "h00000 0"]
    assert check_against_hf(ours, hf, processor, texts) == 3
    assert [ours.id_to_token(i) for i in ours("b000").numpy()] == ["▁", "b", "0", "00"]
    older = text.SentencepieceTokenizer(model_file(tmp_path).read_bytes()).tokenize("b000").numpy()
    assert [processor.id_to_piece(int(i)) for i in older] == ["▁", "b", "00", "0"]


def test_invalid_utf8_reads_as_replacement_characters(pair):
    ours, hf, processor = pair
    cases = [b"ab\xffcd", b"\xc3", b"x\xe4\xbd", b"\xf0\x9f\x98 y", b"\xed\xa0\x80z", b"\xc0\x80",
             b"q\xf4\x90\x80\x80r", b"\x80\x80caf\xc3\xa9"]
    repaired = [c.decode("utf-8", "replace") for c in cases]
    assert check_against_hf(ours, hf, processor, repaired) == len(cases)
    ids, offsets = ours_with_offsets(ours, cases)  # spans index the repaired text
    assert (ids, offsets) == ours_with_offsets(ours, repaired)


def test_empty_batch_scalar_and_one_megabyte_string(pair):
    ours = pair[0]
    assert ours(tf.constant([], tf.string)).shape.as_list() == [0, None]
    assert [t.shape.as_list() for t in ours.tokenize_with_offsets(tf.constant([], tf.string))] == [[0, None]] * 3
    big = ("The quick brown fox jumps over the lazy dog. " * 22_223)[:1_000_000]
    start = time.perf_counter()
    ids, begin, end = ours.tokenize_with_offsets([big])
    assert time.perf_counter() - start < 5
    assert int(ids.row_lengths()[0]) > 200_000 and big[int(begin[0, -1]) : int(end[0, -1])] == "quick"
    assert ours([big]).to_list() == ids.to_list()


FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(texts=st.lists(st.text(max_size=48), min_size=1, max_size=80))
def test_fuzz_unicode_texts(pair, texts):
    check_against_hf(*pair, texts)


@FUZZ
@given(texts=st.lists(st.text(st.sampled_from("ab éﬁ…\t\n\x07\x85\u3000\u200b😀日ｶﾞ\u0301"), max_size=24), min_size=1,
                      max_size=40))
def test_fuzz_whitespace_and_normalization(pair, texts):
    """Texts dense in what tests the alignment: whitespace runs, dropped and expanded characters."""
    check_against_hf(*pair, texts)


def test_in_tf_function_and_tf_data(models):
    ours = SentencePieceTokenizer(model_file(models["cased"]))
    texts = ["Hello, world!", "", "naïve café"]
    eager = ours(texts).to_list()
    graph = tf.function(ours, input_signature=[tf.TensorSpec([None], tf.string)])
    assert graph(tf.constant(texts)).to_list() == eager
    assert [row.tolist() for row in tf.data.Dataset.from_tensor_slices(texts).map(ours).as_numpy_iterator()] == eager
    assert next(iter(tf.data.Dataset.from_tensor_slices(texts).batch(3).map(ours))).to_list() == eager
    scalar = ours("Hello")
    assert scalar.dtype == tf.int32 and scalar.numpy().tolist() == eager[0][:len(scalar)]
    with pytest.raises(ValueError, match="1-D batch"):
        ours([["a"]])


def test_saved_model_in_tf2_and_tf1_loaders(models, tmp_path):
    """Two tokenizers (both casings) in one SavedModel: each keeps its own SentencePiece resource."""
    cased, uncased = (SentencePieceTokenizer(model_file(models[c])) for c in RULES)
    module = tf.Module()
    module.tokenizers = [cased, uncased]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def serve(texts):
        ids, begin, end = cased.tokenize_with_offsets(texts)
        return {"ids": ids.flat_values, "splits": ids.row_splits, "begin": begin.flat_values,
                "end": end.flat_values, "uncased": uncased(texts).flat_values}

    texts = ["Hello  World …", "", "ﬁne\x85day 日本"]
    expected = {k: v.numpy() for k, v in serve(tf.constant(texts)).items()}
    assert not np.array_equal(expected["ids"], expected["uncased"])
    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": serve})
    loaded = tf.saved_model.load(str(tmp_path)).signatures["serving_default"](texts=tf.constant(texts))
    for key, value in expected.items():
        np.testing.assert_array_equal(loaded[key].numpy(), value, err_msg=key)
    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        signature = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(tmp_path)).signature_def[
            "serving_default"]
        fetches = {k: v.name for k, v in signature.outputs.items()}
        out = session.run(fetches, {signature.inputs["texts"].name: np.array(texts, object)})
    for key, value in expected.items():
        np.testing.assert_array_equal(out[key], value, err_msg=f"TF1 {key}")


def test_keras_round_trip_carries_the_model_as_an_asset(models, tmp_path):
    ours = SentencePieceTokenizer(model_file(models["uncased"]), layout="plain", extra_tokens=["[MASK]"], name="spm")
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(ours)))
    assert config["registered_name"] == "keras_bert_zoo>SentencePieceTokenizer"
    assert config["config"]["proto"] is None  # an asset of .keras files, not in their config
    keras.saving.save_model(ours, tmp_path / "tokenizer.keras")  # a layer saves alone as well as in a model
    restored = keras.saving.load_model(tmp_path / "tokenizer.keras")
    assert (restored.layout, restored.extra_tokens, restored.tflite) == ("plain", ("[MASK]",), False)
    assert restored.get_vocabulary() == ours.get_vocabulary()
    texts = ["Straße ist SCHÖN", "a b"]
    assert restored(texts).to_list() == ours(texts).to_list()


def test_tflite_mode_converts_with_builtins_and_tf_text_ops(models):
    from keras_bert_zoo.export.tflite_export import tflite_interpreter

    lite = SentencePieceTokenizer(model_file(models["cased"]), layout="plain", extra_tokens=["[MASK]"]).for_tflite()
    assert (lite.tflite, lite.layout, lite.extra_tokens) == (True, "plain", ("[MASK]",))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def tokenize(texts):
        ids = lite(texts)
        return {"ids": ids.flat_values, "row_splits": ids.row_splits}

    converter = tf.lite.TFLiteConverter.from_concrete_functions([tokenize.get_concrete_function()], lite)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.allow_custom_ops = True  # TFText>FastSentencepieceTokenize only
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = converter.convert()
    texts = sample_texts()[::7] + ["", "  ", "ﬁne … ½", "a\x07b"]
    got = tflite_interpreter(model).get_signature_runner()(texts=np.array(texts, object))
    reference = SentencePieceTokenizer(model_file(models["cased"]), layout="plain")(texts)
    np.testing.assert_array_equal(got["ids"], reference.flat_values)
    np.testing.assert_array_equal(got["row_splits"], reference.row_splits)
    # The one difference: White_Space the normalizer keeps (U+0085) splits words only without tflite=True.
    split = SentencePieceTokenizer(model_file(models["cased"]), layout="plain")("x\x85y").numpy().tolist()
    assert lite("x\x85y").numpy().tolist() != split and len(split) == 4  # "▁", "x", "▁", "y"
    with pytest.raises(ValueError, match="no offsets"):
        lite.tokenize_with_offsets(["a"])


def test_layouts_map_the_model_ids(models):
    path = model_file(models["cased"])
    pieces = [spm.SentencePieceProcessor(model_file=str(path)).id_to_piece(i) for i in range(800)]
    xlmr = SentencePieceTokenizer(path)
    assert xlmr.get_vocabulary() == ["<s>", "<pad>", "</s>", "<unk>", *pieces[3:], "<mask>"]
    assert (xlmr.cls_id, xlmr.pad_id, xlmr.sep_id, xlmr.unk_id, xlmr.mask_id) == (0, 1, 2, 3, 801)
    plain = SentencePieceTokenizer(path, layout="plain", extra_tokens=["[MASK]"])
    assert plain.get_vocabulary() == pieces + ["[MASK]"] and plain.unk_id == 0 and plain.mask_id == 800
    text = "a fine, funny movie ü"
    reference = spm.SentencePieceProcessor(model_file=str(path)).encode(text)
    assert plain(text).numpy().tolist() == reference
    assert xlmr(text).numpy().tolist() == [i + 1 if i >= 3 else [3, 0, 2][i] for i in reference]
    assert xlmr.token_to_id("<mask>") == 801 and xlmr.id_to_token(4) == pieces[3]
    with pytest.raises(KeyError, match="pad token"):
        _ = plain.pad_id
    with pytest.raises(KeyError):
        xlmr.token_to_id("not-a-piece")
    assert set(LAYOUTS) == {"xlm_roberta", "plain"}


def test_detokenize_as_hf_decodes(pair):
    ours, hf, _ = pair
    text = "a fine , funny movie"
    assert ours.detokenize(ours([text])).numpy().tolist() == [text.encode()]
    ids = [ours.cls_id, *ours(text).numpy().tolist(), ours.sep_id, ours.pad_id]
    assert ours.detokenize(tf.constant([ids])).numpy().tolist() == [hf.decode(ids).encode()]
    assert hf.decode(ids) == f"<s> {text}</s><pad>"


def test_bad_input_names_the_problem(models, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.model"):
        SentencePieceTokenizer(tmp_path / "missing.model")
    bad = tmp_path / "bad.model"
    bad.write_bytes(b"not a protobuf")
    with pytest.raises(ValueError, match="bad.model is not a SentencePiece .model"):
        SentencePieceTokenizer(bad)
    with pytest.raises(ValueError, match="layout must be one of"):
        SentencePieceTokenizer(layout="bert")
    with pytest.raises(ValueError, match="no model yet"):
        SentencePieceTokenizer().vocabulary_size
    # A .model whose first pieces are not <unk> <s> </s> cannot take the XLM-R layout.
    folder = tmp_path / "other"
    folder.mkdir()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(["a cat sat on a mat"] * 50), model_prefix=str(folder / "m"), vocab_size=14,
        pad_id=0, unk_id=1, bos_id=2, eos_id=3, pad_piece="[PAD]", minloglevel=2,
    )
    with pytest.raises(ValueError, match=r"m.model: its first pieces are \['\[PAD\]'"):
        SentencePieceTokenizer(folder / "m.model")
    assert SentencePieceTokenizer(folder / "m.model", layout="plain").pad_id == 0
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(["a cat sat on a mat"] * 50), model_prefix=str(folder / "bpe"), vocab_size=14,
        model_type="bpe", minloglevel=2,
    )
    with pytest.raises(ValueError, match="bpe.model: a BPE SentencePiece model; only unigram"):
        SentencePieceTokenizer(folder / "bpe.model")
