"""BytePairTokenizer: ids and offsets equal to Hugging Face's RobertaTokenizerFast (the Rust `tokenizers`)
on roberta-base's real vocab.json/merges.txt, on every text the repo ships and under fuzzing; in-graph use,
SavedModel (TF2 and TF1 loaders), .keras round trip and bad files."""

import csv
import json
import random
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from tokenizers import AddedToken
from transformers import RobertaTokenizerFast

from keras_bert_zoo.errors import CheckpointError
from keras_bert_zoo.text import BytePairTokenizer
from keras_bert_zoo.text.byte_pair import BYTE_SYMBOLS, SPECIAL_TOKENS

DATA = Path(__file__).parent / "data" / "roberta_bpe"
VOCAB, MERGES = DATA / "vocab.json", DATA / "merges.txt"
RECIPE_DATA = Path(__file__).parents[1] / "recipes" / "data"
# Unicode White_Space (Hugging Face's \s), then characters that look like whitespace but are not.
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + (
    "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000")
NOT_WHITESPACE = "\x1c\x1d\x1e\x1f\u200b\u180e\ufeff\u2060"


def hf_tokenizer(**options):
    """RobertaTokenizerFast as roberta-base's tokenizer.json defines it: "<mask>" strips the whitespace before it
    (transformers 5's constructor leaves that out; transformers 4's put it in)."""
    mask = AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True)
    return RobertaTokenizerFast(vocab=str(VOCAB), merges=str(MERGES), mask_token=mask, **options)


@pytest.fixture(scope="module")
def ours():
    return BytePairTokenizer(VOCAB, MERGES)


@pytest.fixture(scope="module")
def hf():
    return hf_tokenizer()


def hf_byte_offsets(text, offsets):
    """Hugging Face's character offsets -> byte offsets into text's UTF-8."""
    at = np.cumsum([0] + [len(c.encode()) for c in text])
    return [(int(at[b]), int(at[e])) for b, e in offsets]


def check_against_hf(ours, hf, texts):
    """Every text: ids, byte offsets and detokenized ids equal to HF's."""
    ids, begin, end = ours.tokenize_with_offsets(tf.constant(texts))
    reference = hf(texts, add_special_tokens=False, return_offsets_mapping=True)
    back = ours.detokenize(ids).numpy().tolist()
    for text, row, b, e, ref_ids, ref_offsets, restored in zip(
        texts, ids.to_list(), begin.to_list(), end.to_list(), reference["input_ids"], reference["offset_mapping"], back
    ):
        assert row == ref_ids, ascii(text)
        assert list(zip(b, e)) == hf_byte_offsets(text, ref_offsets), ascii(text)
        assert restored == hf.decode(ref_ids).encode(), ascii(text)


def test_known_ids(ours):
    # roberta-base's published ids (independent of transformers), without <s> </s>.
    assert ours(["Hello world", "The quick brown fox jumped."]).to_list() == [
        [31414, 232], [133, 2119, 6219, 23602, 4262, 4]]
    assert ours("Hello world").numpy().tolist() == [31414, 232]  # a scalar gives one row


def shipped_texts():
    """Every text under recipes/data: SST-2 sentences, CoNLL sentences (tokens joined by spaces), SQuAD
    contexts, questions and answers, the pretraining corpus, multiple-choice fields, and each SOURCE.md."""
    texts = []
    for path in sorted(RECIPE_DATA.rglob("*.tsv")):
        with open(path, encoding="utf-8", newline="") as f:
            texts += [row[0] for row in list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]]
    for path in sorted(RECIPE_DATA.glob("conll2003/*.txt")):
        for block in path.read_text(encoding="utf-8").split("\n\n"):
            texts.append(" ".join(line.split(" ")[0] for line in block.splitlines() if line))
    for path in sorted(RECIPE_DATA.rglob("*.json")):
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            for paragraph in article["paragraphs"]:
                texts.append(paragraph["context"])
                for qa in paragraph["qas"]:
                    texts += [qa["question"], *(a["text"] for a in qa["answers"])]
    for path in sorted(RECIPE_DATA.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            example = json.loads(line)
            texts += [example["context"], example["question"], *example["choices"]]
    for path in sorted([*RECIPE_DATA.rglob("*.md"), *RECIPE_DATA.glob("pretraining/*.txt")]):
        texts += path.read_text(encoding="utf-8").split("\n")
    return texts


def test_every_shipped_text(ours, hf):
    texts = shipped_texts()
    assert len(texts) > 40_000
    for start in range(0, len(texts), 8192):
        check_against_hf(ours, hf, texts[start:start + 8192])


def random_texts(seed, count):
    """Strings built from the pieces that matter to a byte-level BPE: whitespace of every kind and in runs,
    contractions, special tokens, emoji sequences, combining marks, control characters, digits, any code
    point (astral and unassigned ones included), long words, leading and trailing spaces, empty strings."""
    rng = random.Random(seed)
    pieces = [
        *WHITESPACE, *NOT_WHITESPACE, "  ", "\r\n", " \t ", "\u3000 ", " \xa0",
        "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'", "''", "'x",
        *SPECIAL_TOKENS, "<|endoftext|>", "<mask", "mask>", "<s", "<<s>>",
        "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466", "\U0001f3f3\ufe0f\u200d\U0001f308",
        "\U0001f44d\U0001f3fd", "\U0001f600", "e\u0301", "\u0300\u0301", "\u0915\u094d\u0937", "\u00e9",
        "a" * 300, "ab" * 120, "\u4e2d\u6587" * 40, "hello", "world", "Hello", "HELLO", "don", "x", "1", "123",
        "3.14", "\u0661\u0662", "\u00bd", "!", "?!", "...", "--", "$", "#", "@", "\u00a7", "\x00", "\x7f",
        "\u1c89", "\U000105c0", "\U00010d40", "\U0002ebf0", "\u0378", "\U000e0001", "\U0010fffd", "\ufffd",
    ]

    def piece():
        roll = rng.random()
        if roll < 0.15:  # any code point but surrogates, from each UTF-8 length
            code = rng.randrange(rng.choice([0x80, 0x800, 0x10000, 0x110000]))
            return "\ufffd" if 0xD800 <= code < 0xE000 else chr(code)
        if roll < 0.25:
            return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(rng.randrange(1, 12)))
        return rng.choice(pieces)

    texts = ["", " ", "  ", "\t", "\n\n"]
    while len(texts) < count:
        text = "".join(piece() for _ in range(rng.randrange(0, 12)))
        texts.append(rng.choice(["", " ", "  ", "\n"]) + text + rng.choice(["", " ", "   ", "\t"]))
    return texts


def test_fuzz(ours, hf):
    check_against_hf(ours, hf, random_texts(seed=0, count=600))


def test_fuzz_with_add_prefix_space():
    check_against_hf(BytePairTokenizer(VOCAB, MERGES, add_prefix_space=True), hf_tokenizer(add_prefix_space=True),
                     random_texts(seed=1, count=300) + ["Hello", "\tHello", "a<mask>b", "<mask>\t", "<s><s> x"])


def test_whitespace_runs_of_every_kind(ours, hf):
    texts = [f"{a}{w}{b}" for w in WHITESPACE + NOT_WHITESPACE for a in ("", "x", "x ", "x" + w)
             for b in ("", "y", "'s", " y", "!", "1", w + "y", " " + w + " 'll")]
    check_against_hf(ours, hf, texts)


def test_letters_and_digits_of_recent_unicode(ours, hf):
    # Every code point of Unicode 15.1/16.0's new letter and digit ranges, and a stride over all code points.
    code_points = [*range(0x1C89, 0x1C8B), *range(0x105C0, 0x105F4), *range(0x13460, 0x143FB, 7),
                   *range(0x2EBF0, 0x2EE5E, 5), *range(0x1E5D0, 0x1E5FB), *range(0x16D40, 0x16D7A),
                   *range(0x116D0, 0x116E4), *(c for c in range(0, 0x110000, 97) if not 0xD800 <= c < 0xE000)]
    check_against_hf(ours, hf, [f"{c}a{c}1{c} {c}!{c}" for c in map(chr, code_points)])


def test_special_tokens_in_text(ours, hf):
    texts = ["a <mask> b", "a \t\xa0<mask>", "x<mask>y", "<s>hi</s>", "<pad><unk>", "<mask><mask>", " <mask> <mask>",
             "\x1c<mask>", "<|endoftext|>", "<s <mask", "</s>  </s>"]
    check_against_hf(ours, hf, texts)
    assert ours(["a <mask>"]).to_list() == [[102, 50264]]  # the space before <mask> goes with it
    transformers_5 = RobertaTokenizerFast(vocab=str(VOCAB), merges=str(MERGES))
    assert transformers_5("a <mask>", add_special_tokens=False)["input_ids"] == [102, 1437, 50264]


def tiny(merges, *tokens):
    vocabulary = [*SPECIAL_TOKENS, *BYTE_SYMBOLS, *tokens]
    vocabulary = {token: i for i, token in enumerate(vocabulary)}
    hf = RobertaTokenizerFast(vocab=vocabulary, merges=[tuple(m.split(" ")) for m in merges])
    return BytePairTokenizer(vocabulary, merges), hf


def test_overlapping_and_repeated_pairs():
    # "a a" occurs overlapping in "aaa": Hugging Face merges the leftmost first, then the next free one.
    ours, hf = tiny(["a a", "aa a", "aa aa", "b aa"], "aa", "aaa", "aaaa", "baa")
    texts = ["a" * n for n in range(1, 12)] + ["baaa", "baaaaa", "abaa", "aa aaa aaaa"]
    assert ours(texts).to_list() == hf(texts, add_special_tokens=False)["input_ids"]
    assert [ours.id_to_token(i) for i in ours(["aaaaaaa"])[0].numpy()] == ["aaaa", "aaa"]


def test_bytes_that_are_not_utf8_come_back(ours):
    data = [b"\xff\xfeab\xc3", b"caf\xc3\xa9 \xe2\x82", b"\x80"]
    ids, begin, end = ours.tokenize_with_offsets(tf.constant(data))
    assert ours.detokenize(ids).numpy().tolist() == data
    assert all(0 <= b <= e <= len(d) for d, bs, es in zip(data, begin.to_list(), end.to_list()) for b, e in zip(bs, es))


def test_in_tf_function_and_tf_data(ours):
    texts = ["Hello, world!", "", "naïve café <mask>"]
    eager = ours(texts).to_list()
    graph = tf.function(ours, input_signature=[tf.TensorSpec([None], tf.string)])
    assert graph(tf.constant(texts)).to_list() == eager
    dataset = tf.data.Dataset.from_tensor_slices(texts).map(ours)
    assert [row.tolist() for row in dataset.as_numpy_iterator()] == eager
    batched = tf.data.Dataset.from_tensor_slices(texts).batch(3).map(ours)
    assert next(iter(batched)).to_list() == eager


class Tokenize(tf.Module):
    def __init__(self, tokenizer):
        super().__init__()
        self.tokenizer = tokenizer

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, texts):
        ids, begin, end = self.tokenizer.tokenize_with_offsets(texts)
        return {"ids": ids.flat_values, "row_splits": ids.row_splits, "begin": begin.flat_values,
                "end": end.flat_values}


def test_saved_model_in_tf2_and_tf1_loaders(ours, tmp_path):
    texts = ["Hello world", " <mask> 's  \u3000x\U0001f600", ""]
    expected = {k: v.numpy() for k, v in Tokenize(ours)(tf.constant(texts)).items()}
    tf.saved_model.save(Tokenize(ours), str(tmp_path), signatures=None)
    loaded = tf.saved_model.load(str(tmp_path))
    for name, value in loaded(tf.constant(texts)).items():
        np.testing.assert_array_equal(value.numpy(), expected[name])
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(tmp_path))
        signature = meta_graph.signature_def["serving_default"]
        fetch = {name: output.name for name, output in signature.outputs.items()}
        got = session.run(fetch, {signature.inputs["texts"].name: np.array(texts, object)})
    for name, value in got.items():
        np.testing.assert_array_equal(value, expected[name])


@keras.saving.register_keras_serializable(package="tests")
class TokenCounter(keras.Model):
    """A small model holding the tokenizer: tokens per text."""

    def __init__(self, tokenizer, **kwargs):
        super().__init__(**kwargs)
        self.tokenizer = tokenizer
        self.built = True  # no weights

    def call(self, texts):
        return self.tokenizer(texts).row_lengths()

    def get_config(self):
        return {**super().get_config(), "tokenizer": keras.saving.serialize_keras_object(self.tokenizer)}

    @classmethod
    def from_config(cls, config):
        config["tokenizer"] = keras.saving.deserialize_keras_object(config["tokenizer"])
        return cls(**config)


def test_keras_file_carries_vocabulary_and_merges_as_assets(ours, tmp_path):
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(ours)))
    assert config["registered_name"] == "keras_bert_zoo>BytePairTokenizer"
    assert config["config"]["vocabulary"] is None and config["config"]["merges"] is None
    TokenCounter(ours).save(tmp_path / "model.keras")
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        names = archive.namelist()
    assert any(n.endswith("vocab.json") for n in names) and any(n.endswith("merges.txt") for n in names), names
    restored = keras.saving.load_model(tmp_path / "model.keras").tokenizer
    texts = ["Hello world <mask>", "naïve  café"]
    assert restored(texts).to_list() == ours(texts).to_list()
    assert restored.get_vocabulary() == ours.get_vocabulary()


def test_vocabulary_api_and_special_ids(ours):
    assert ours.vocabulary_size == 50265 == len(ours.get_vocabulary())
    assert (ours.cls_id, ours.pad_id, ours.sep_id, ours.unk_id, ours.mask_id) == (0, 1, 2, 3, 50264)
    assert ours.token_to_id("Ġworld") == 232 and ours.id_to_token(232) == "Ġworld"
    with pytest.raises(KeyError):
        ours.token_to_id("not-a-token")
    assert ours.detokenize(tf.constant([[0, 31414, 232, 2, 1]])).numpy().tolist() == [b"<s>Hello world</s><pad>"]


def test_bad_files_and_inputs_name_the_problem(tmp_path):
    vocabulary = {t: i for i, t in enumerate([*SPECIAL_TOKENS, *BYTE_SYMBOLS, "ab"])}
    bad_json = tmp_path / "vocab.json"
    bad_json.write_text("{not json")
    with pytest.raises(CheckpointError, match="vocab.json: not a UTF-8 JSON file"):
        BytePairTokenizer(bad_json, ["a b"])
    with pytest.raises(CheckpointError, match=r"lacks 1 tokens .*'<mask>'"):
        BytePairTokenizer({t: i for t, i in vocabulary.items() if t != "<mask>"} | {"x1": 4}, ["a b"])
    with pytest.raises(CheckpointError, match="ids are not 0..261"):
        BytePairTokenizer({**vocabulary, "ab": 300}, ["a b"])
    merges = tmp_path / "merges.txt"
    merges.write_text("#version: 0.2\na b\nab  c\n")
    with pytest.raises(CheckpointError, match=r"merges.txt: line 3 is 'ab  c', not two tokens"):
        BytePairTokenizer(vocabulary, merges)
    with pytest.raises(CheckpointError, match=r"merge 2 \(a c\): no 'ac' in the vocabulary"):
        BytePairTokenizer(vocabulary, ["a b", "a c"])
    with pytest.raises(CheckpointError, match=r"merge 1 \(ab a\) comes before merge 2, which makes 'ab'"):
        BytePairTokenizer({**vocabulary, "aba": 262}, ["ab a", "a b"])
    with pytest.raises(ValueError, match="needs both"):
        BytePairTokenizer(vocabulary)
    with pytest.raises(ValueError, match="no vocabulary yet"):
        BytePairTokenizer()(["x"])
    with pytest.raises(ValueError, match=r"a string or a 1-D batch, not shape \(1, 1\)"):
        BytePairTokenizer(vocabulary, ["a b"])([["x"]])
