"""BertTokenizer: parity with Hugging Face's BertTokenizerFast (ids and offsets), Unicode coverage,
bad input, fuzzing, in-graph use and serialization."""

import functools
import json
import re
import time
import unicodedata
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import tiny_vocabulary
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keras_bert_zoo as kbz
from keras_bert_zoo.text.tokenizer import BertTokenizer, checkpoint_vocabulary, is_uncased_vocabulary

DATA = Path(__file__).parent / "data"
VOCAB_DIR = Path(__file__).parents[1] / "keras_bert_zoo" / "vocab"
VOCABS = {"uncased": True, "multilingual_cased": False}  # vocab file -> lowercase

# Every difference from BertTokenizerFast that tokenizing each code point in " X aXa " shows,
# with its cause. None can be fixed by tokenizer options: they come from Unicode versions (HF's
# Rust tables, Python 3.11's unicodedata 14.0 behind our normalizer table, tensorflow-text's ICU
# behind FastWordpiece's punctuation test) or from FastWordpiece's built-in CJK ranges.
EXPECTED_DIFFERENCES = {
    # FastWordpiece (ICU, newer Unicode) splits words at these; HF's category tables lack them.
    "punctuation unknown to HF": (
        "061D 09FD 0A76 0C77 0C84 1B7D-1B7E 2E43-2E4F 2E52-2E5D 10EAD 10F55-10F59 10F86-10F89 "
        "1144B-1144F 1145A-1145B 1145D 11660-1166C 116B9 1183B 11944-11946 119E2 11A3F-11A46 "
        "11A9A-11A9C 11A9E-11AA2 11C41-11C45 11C70-11C71 11EF7-11EF8 11FFF 12FF1-12FF2 "
        "16E97-16E9A 16FE2 1E95E-1E95F",
        (True, False),
    ),
    # Unassigned in Unicode 14 (kept, like HF), but punctuation to ICU (Unicode 15/16): split.
    "unassigned in Unicode 14, punctuation to ICU": (
        "1B4E-1B4F 1B7F 10D6E 113D4-113D5 113D7-113D8 11B00-11B09 11BE1 11F43-11F4F 16D6D-16D6F 1E5FF",
        (True, False),
    ),
    # Format characters of Unicode 14: we drop them as BERT drops every Cf; HF keeps them.
    "format characters unknown to HF": ("0890-0891 08E2 110CD 13430-13438", (True, False)),
    # HF's tokenizers leaves U+2B820..2B91F out of its CJK ranges; FastWordpiece splits them off.
    "CJK gap in HF's ranges": ("2B820-2B91F", (True, False)),
    # General category changed since HF's tables: U+166D Po->So and U+111C9 Po->Mn (HF still
    # splits at them), U+1734 Mn->Mc (HF still strips it when lowercasing).
    "category changed": ("166D 111C9", (True, False)),
    "category changed, uncased": ("1734", (True,)),
    # Combining marks newer than HF's tables: lowercasing strips them (as all Mn); HF keeps them.
    "combining marks unknown to HF, uncased": (
        "07FD 0898-089F 08CA-08E1 09FE 0AFA-0AFF 0B55 0C04 0C3C 0D00 0D3B-0D3C 0D81 0EBA 180F "
        "1885-1886 1ABF-1ACE 1DF6-1DFB A82C A8C5 A8FF A9BD 10D24-10D27 10EAB-10EAC 10F46-10F50 "
        "10F82-10F85 11070 11073-11074 110C2 111CF 1123E 1133B 11438-1143F 11442-11444 11446 "
        "1145E 1182F-11837 11839-1183A 1193B-1193C 1193E 11943 119D4-119D7 119DA-119DB 119E0 "
        "11A01-11A0A 11A33-11A38 11A3B-11A3E 11A47 11A51-11A56 11A59-11A5B 11A8A-11A96 "
        "11A98-11A99 11C30-11C36 11C38-11C3D 11C3F 11C92-11CA7 11CAA-11CB0 11CB2-11CB3 "
        "11CB5-11CB6 11D31-11D36 11D3A 11D3C-11D3D 11D3F-11D45 11D47 11D90-11D91 11D95 11D97 "
        "11EF3-11EF4 16F4F 16FE4 1CF00-1CF2D 1CF30-1CF46 1E000-1E006 1E008-1E018 1E01B-1E021 "
        "1E023-1E024 1E026-1E02A 1E130-1E136 1E2AE 1E2EC-1E2EF 1E944-1E94A",
        (True,),
    ),
}
# Differences that need more than one character, each checked explicitly below:
# - HF matches the special tokens written in the text ("[MASK]" -> 103); we tokenize text as text.
# - Uncased, HF applies NFD to the whole text, reordering combining marks across characters; our
#   table works per character, so offsets (and, for non-stripped marks, ids) can differ there.
LITERAL_SPECIAL = re.compile(r"\[(PAD|UNK|CLS|SEP|MASK)\]")


def _code_points(ranges):
    points = set()
    for part in ranges.split():
        low, _, high = part.partition("-")
        points.update(range(int(low, 16), int(high or low, 16) + 1))
    return points


def expected_differences(lowercase):
    return {
        cause: _code_points(ranges)
        for cause, (ranges, modes) in EXPECTED_DIFFERENCES.items()
        if lowercase in modes
    }


ALL_LISTED = set().union(*expected_differences(True).values())


@functools.cache
def ours_for(vocab):
    return BertTokenizer(VOCAB_DIR / f"{vocab}.txt", VOCABS[vocab])


@functools.cache
def hf_for(vocab):
    from transformers import BertTokenizerFast

    # transformers 5 ignores vocab_file= (every id becomes [UNK]); vocab= is the working spelling.
    return BertTokenizerFast(vocab=str(VOCAB_DIR / f"{vocab}.txt"), do_lower_case=VOCABS[vocab])


@pytest.fixture(scope="module", params=list(VOCABS))
def pair(request):
    """(ours, Hugging Face reference) for one shipped vocabulary."""
    return ours_for(request.param), hf_for(request.param)


def sample_texts():
    sst2 = [line.split("\t")[0] for line in (DATA / "sst2/dev.tsv").read_text().splitlines()[1:]]
    conll, words = [], []
    for line in (DATA / "conll2003/test_first300.txt").read_text().splitlines() + [""]:
        if line.strip():
            words.append(line.split(" ")[0])
        elif words:
            conll.append(" ".join(words))
            words = []
    squad = json.loads((DATA / "squad/dev-v2.0-first5.json").read_text())["data"]
    paragraphs = [p for article in squad for p in article["paragraphs"]]
    contexts = [p["context"] for p in paragraphs]
    questions = [q["question"] for p in paragraphs for q in p["qas"]]
    multilingual = json.loads((DATA / "multilingual/samples.json").read_text())
    assert (len(sst2), len(conll), len(contexts), len(questions)) == (872, 300, 173, 1407)
    return sst2 + conll + contexts + questions + multilingual


def hf_byte_offsets(text, char_offsets):
    """HF's character offsets -> byte offsets into text's UTF-8."""
    starts = np.cumsum([0] + [len(c.encode()) for c in text])
    return [(int(starts[b]), int(starts[e])) for b, e in char_offsets]


def ours_with_offsets(tokenizer, texts):
    ids, begin, end = tokenizer.tokenize_with_offsets(tf.constant(texts, tf.string))
    return ids.to_list(), [list(zip(b, e)) for b, e in zip(begin.to_list(), end.to_list())]


def test_ids_and_offsets_match_hf_on_sample_data(pair):
    ours, hf = pair
    texts = sample_texts()
    ref = hf(texts, add_special_tokens=False, return_offsets_mapping=True)
    flat = [i for row in ref["input_ids"] for i in row]
    assert len(flat) > 50_000 and flat.count(hf.unk_token_id) < 0.01 * len(flat)  # a real reference
    ids, offsets = ours_with_offsets(ours, texts)
    for i, text in enumerate(texts):
        assert ids[i] == ref["input_ids"][i], text
        assert offsets[i] == hf_byte_offsets(text, ref["offset_mapping"][i]), text


def differing_code_points(pair, code_points, chunk=64):
    """Code points whose " X aXa " tokenizes differently; 64 contexts a text, split on mismatch."""
    ours, hf = pair
    chunks = [code_points[i : i + chunk] for i in range(0, len(code_points), chunk)]
    texts = ["".join(f" {chr(cp)} a{chr(cp)}a " for cp in points) for points in chunks]
    ref = hf(texts, add_special_tokens=False)["input_ids"]
    got = ours(tf.constant(texts)).to_list()
    differing = [points for points, r, g in zip(chunks, ref, got) if r != g]
    if chunk == 1:
        return {points[0] for points in differing}
    return set().union(set(), *(differing_code_points(pair, points, chunk=1) for points in differing))


def check_differences(pair, code_points):
    lowercase = pair[0].lowercase
    differing = differing_code_points(pair, code_points)
    listed = expected_differences(lowercase)
    unlisted = differing - set().union(*listed.values())
    assert not unlisted, [f"U+{cp:04X} {unicodedata.name(chr(cp), '?')}" for cp in sorted(unlisted)]
    tested = set(code_points)
    for cause, points in listed.items():
        if points & tested:
            assert points & differing, f"stale expected difference: {cause}"


def test_every_assigned_code_point_agrees_with_hf(pair):
    """Each assigned code point of planes 0, 1 and 14, the CJK planes sampled, in two contexts."""
    planes_0_1_14 = [*range(0x20000), *range(0xE0000, 0xF0000)]
    cjk = [*range(0x20000, 0x32000, 61), *range(0x2B800, 0x2B940), *range(0x2F800, 0x2FA20)]
    code_points = [
        cp
        for cp in sorted(set(planes_0_1_14 + cjk))
        if unicodedata.category(chr(cp)) not in ("Cn", "Cs")
    ]
    check_differences(pair, code_points)


@pytest.mark.slow
def test_every_code_point_agrees_with_hf(pair):
    """All 1.1M code points, unassigned ones and private-use planes included (about a minute)."""
    check_differences(pair, [cp for cp in range(0x110000) if not 0xD800 <= cp < 0xE000])


def test_multi_character_differences_are_as_documented():
    ours, hf = ours_for("uncased"), hf_for("uncased")
    text = "fill [MASK] here"
    assert hf(text, add_special_tokens=False)["input_ids"] == [6039, 103, 2182]
    assert ours(text).numpy().tolist() == [6039, 1031, 7308, 1033, 2182]  # "[", "mask", "]"
    # U+0E39 (ccc 103) before U+1BF3 (ccc 9): HF's NFD reorders them, then strips U+0E39.
    text = "\u0e39\u1bf3\U00010c15"
    ref = hf(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = ours_with_offsets(ours, [text])
    assert ids[0] == ref["input_ids"] == [ours.unk_id]
    assert hf_byte_offsets(text, ref["offset_mapping"]) == [(0, 10)] and offsets[0] == [(3, 10)]


def test_words_over_100_characters_become_one_unk():
    ours, hf = ours_for("multilingual_cased"), hf_for("multilingual_cased")
    texts = ["a" * 100, "a" * 101, "é" * 100 + " x", "x " + "é" * 101, "ж" * 101, "ภาษาไทย" * 15]
    ref = hf(texts, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = ours_with_offsets(ours, texts)
    assert ids == ref["input_ids"]
    assert ids[1] == [ours.unk_id] and len(ids[0]) > 1
    assert offsets == [hf_byte_offsets(t, o) for t, o in zip(texts, ref["offset_mapping"])]


def test_offsets_span_the_source_characters():
    ours = ours_for("uncased")
    text = "Ｈéllo 각\u200b!"  # fullwidth, precomposed accent, Hangul -> 3 jamo, zero-width space
    ids, offsets = ours_with_offsets(ours, [text])
    raw = text.encode()
    assert [ours.id_to_token(i) for i in ids[0]] == ["[UNK]", "ᄀ", "##ᅡ", "##ᆨ", "!"]
    assert [raw[b:e].decode() for b, e in offsets[0]] == ["Ｈéllo", "각", "각", "각", "!"]


@pytest.mark.parametrize(
    "text",
    ["", " ", " \t\n\r\u3000\u2028\u2029 ", "\u200b\u200d\ufeff\u00ad", "\x00\x01\x7f\x9f", "日本語",
     "👨\u200d👩\u200d👧 👍🏽 🇩🇪", "\ue000\U000f0000\U0010fffd"],
)
def test_edge_strings_match_hf(text):
    ours, hf = ours_for("uncased"), hf_for("uncased")
    assert ours(text).numpy().tolist() == hf(text, add_special_tokens=False)["input_ids"]


def test_empty_batch_scalar_and_one_megabyte_string():
    ours = ours_for("uncased")
    assert ours(tf.constant([], tf.string)).shape.as_list() == [0, None]
    assert [t.shape.as_list() for t in ours.tokenize_with_offsets([])] == [[0, None]] * 3
    scalar = ours("hello world")
    assert scalar.dtype == tf.int32 and scalar.numpy().tolist() == [7592, 2088]
    big = ("The quick brown fox jumps over the lazy dog. " * 22_223)[:1_000_000]
    start = time.perf_counter()
    ids, begin, end = ours.tokenize_with_offsets([big])
    assert time.perf_counter() - start < 5
    assert int(ids.row_lengths()[0]) > 200_000 and big[int(begin[0, -1]) : int(end[0, -1])] == "quick"
    with pytest.raises(ValueError, match="1-D batch"):
        ours([["a"]])


def test_invalid_utf8_reads_as_dropped_replacement_characters():
    ours, hf = ours_for("uncased"), hf_for("uncased")
    cases = [b"ab\xffcd", b"\xc3", b"x\xe4\xbd", b"\xf0\x9f\x98 y", b"\xed\xa0\x80z", b"\xc0\x80",
             b"q\xf4\x90\x80\x80r", b"\x80\x80caf\xc3\xa9"]
    ids, offsets = ours_with_offsets(ours, cases)
    ref = hf([c.decode("utf-8", "replace") for c in cases], add_special_tokens=False)["input_ids"]
    assert ids == ref
    assert offsets[0] == [(0, 4), (4, 5)]  # "abc", "##d": spans index the original bytes


def check_against_hf(ours, hf, texts, raw=None):
    """Ids in range for every text; ids and offsets equal to HF's where no listed difference applies."""
    raw = raw or [t.encode() for t in texts]
    ids, offsets = ours_with_offsets(ours, raw)
    ref = hf(texts, add_special_tokens=False, return_offsets_mapping=True)
    for text, data, row, spans, ref_ids, ref_offsets in zip(
        texts, raw, ids, offsets, ref["input_ids"], ref["offset_mapping"]
    ):
        assert all(0 <= i < ours.vocabulary_size for i in row)
        assert all(0 <= b <= e <= len(data) for b, e in spans)
        reorders = ours.lowercase and unicodedata.normalize("NFD", text) != "".join(
            unicodedata.normalize("NFD", c) for c in text
        )
        if reorders or LITERAL_SPECIAL.search(text) or ALL_LISTED & set(map(ord, text)):
            continue
        assert row == ref_ids, ascii(text)
        if data == text.encode():
            assert spans == hf_byte_offsets(text, ref_offsets), ascii(text)


FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(texts=st.lists(st.text(max_size=48), min_size=1, max_size=80))
def test_fuzz_unicode_texts(pair, texts):
    check_against_hf(*pair, texts)


@FUZZ
@given(data=st.lists(st.binary(max_size=48), min_size=1, max_size=80))
def test_fuzz_byte_strings(pair, data):
    check_against_hf(*pair, [d.decode("utf-8", "replace") for d in data], raw=data)


def test_in_tf_function_and_tf_data():
    ours = ours_for("uncased")
    texts = ["Hello, world!", "", "naïve café"]
    eager = ours(texts).to_list()
    graph = tf.function(ours, input_signature=[tf.TensorSpec([None], tf.string)])
    assert graph(tf.constant(texts)).to_list() == eager
    dataset = tf.data.Dataset.from_tensor_slices(texts).map(ours)
    assert [row.tolist() for row in dataset.as_numpy_iterator()] == eager
    batched = tf.data.Dataset.from_tensor_slices(texts).batch(3).map(ours)
    assert next(iter(batched)).to_list() == eager


def test_converts_to_tflite_with_only_tf_text_custom_ops():
    from tensorflow.lite.python.interpreter import InterpreterWithCustomOps
    from tensorflow_text import tflite_registrar

    ours = ours_for("uncased")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def tokenize(texts):
        ids = ours(texts)
        return {"ids": ids.flat_values, "row_splits": ids.row_splits}

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [tokenize.get_concrete_function()], ours
    )
    converter.allow_custom_ops = True  # FastBertNormalize and FastWordpieceTokenize* only
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
        interpreter = InterpreterWithCustomOps(
            model_content=converter.convert(),
            custom_op_registerers=tflite_registrar.SELECT_TFTEXT_OPS,
        )
    texts = json.loads((DATA / "multilingual/samples.json").read_text())
    got = interpreter.get_signature_runner()(texts=np.array(texts))
    expected = ours(texts)
    np.testing.assert_array_equal(got["ids"], expected.flat_values)
    np.testing.assert_array_equal(got["row_splits"], expected.row_splits)


def test_detokenize():
    ours = ours_for("uncased")
    assert ours.detokenize(ours(["Hello, unaffable world!"])).numpy().tolist() == [
        b"hello , unaffable world !"
    ]
    assert ours.detokenize(tf.constant([[101, 7592, 102, 0]])).numpy().tolist() == [
        b"[CLS] hello [SEP] [PAD]"
    ]


def test_vocabulary_api_and_special_ids():
    ours = ours_for("uncased")
    assert ours.vocabulary_size == 30522 == len(ours.get_vocabulary())
    assert (ours.pad_id, ours.unk_id, ours.cls_id, ours.sep_id, ours.mask_id) == (0, 100, 101, 102, 103)
    assert ours.token_to_id("hello") == 7592 and ours.id_to_token(7592) == "hello"
    with pytest.raises(KeyError):
        ours.token_to_id("not-a-token")
    with pytest.raises(ValueError, match=r"\[MASK\]"):
        BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"])


def test_config_round_trip_carries_the_vocabulary(tmp_path):
    vocab = tiny_vocabulary("straße", "strasse", "##n")
    ours = BertTokenizer(vocab, lowercase=False, name="tok")
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(ours)))
    assert config["registered_name"] == "keras_bert_zoo>BertTokenizer"
    assert config["config"]["vocabulary"] is None  # an asset of .keras files, not in their config
    # A .keras file carries it: the tokenizer travels inside a task model's preprocessor.
    model = kbz.BertClassifier(kbz.BertEncoder(len(vocab), 1, 2, 8, 16), num_classes=2,
                               preprocessor=kbz.BertPreprocessor(ours, sequence_length=8))
    model.save(tmp_path / "model.keras")
    restored = kbz.load(tmp_path / "model.keras").preprocessor.tokenizer
    assert restored.get_vocabulary() == vocab and restored.lowercase is False
    assert restored(["Straße strassen"]).to_list() == ours(["Straße strassen"]).to_list() == [[1, 6, 7]]


def test_from_preset():
    ours = kbz.load_tokenizer("bert_tiny_uncased")
    assert ours.lowercase and ours.vocabulary_size == 30522
    with pytest.raises(FileNotFoundError, match="No weights for preset 'bert_base_cased'.*bert-base-cased"):
        kbz.load_tokenizer("bert_base_cased")  # its vocab.txt comes with its weights
    with pytest.raises(ValueError, match="not shipped"):
        kbz.load_tokenizer("bert_base_cased", weights=None)


def test_from_checkpoint_reads_or_infers_casing(tmp_path):
    uncased = (VOCAB_DIR / "uncased.txt").read_text()
    hf_folder = tmp_path / "hf"
    hf_folder.mkdir()
    (hf_folder / "vocab.txt").write_text(uncased)
    (hf_folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False}))
    assert kbz.load_tokenizer(hf_folder).lowercase is False
    google = tmp_path / "google"
    google.mkdir()
    (google / "vocab.txt").write_text(uncased)
    assert checkpoint_vocabulary(google / "bert_model.ckpt") == (google / "vocab.txt", True)
    (google / "vocab.txt").write_text((VOCAB_DIR / "multilingual_cased.txt").read_text())
    assert checkpoint_vocabulary(google) == (google / "vocab.txt", False)
    with pytest.raises(FileNotFoundError):
        checkpoint_vocabulary(tmp_path)


def test_casing_inference_on_shipped_vocabularies():
    assert is_uncased_vocabulary(VOCAB_DIR / "uncased.txt")  # despite "ℝ", which has no lowercase
    assert not is_uncased_vocabulary(VOCAB_DIR / "multilingual_cased.txt")
