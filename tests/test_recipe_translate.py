"""recipes/translate.py end to end on a tiny slice; the label-smoothed loss against torch's; a tiny model that
learns a few pairs by heart gives them back through `generate_texts` (the decoder's shift is right)."""

import re
from pathlib import Path

import keras
import numpy as np
import pytest
import sacrebleu
import torch

from keras_bert_zoo.data.seq2seq import ParallelTexts, read_parallel_text, seq2seq_dataset
from keras_bert_zoo.models.bert.backbone import BertEncoder
from keras_bert_zoo.models.encoder_decoder import BertEncoderDecoder
from keras_bert_zoo.tasks import translate
from keras_bert_zoo.tasks.seq2seq import SmoothedCrossEntropy, generate_texts
from keras_bert_zoo.text import BertPreprocessor, BertTokenizer

RECIPE = Path(__file__).parents[1] / "recipes" / "translate.py"
DATA = RECIPE.parent / "data" / "multi30k"


def test_smoothed_cross_entropy_equals_torch():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 11)).astype("float32")
    labels = rng.integers(0, 11, size=(3, 5)).astype("int32")
    weights = (np.arange(5)[None, :] < np.array([[5], [3], [1]])).astype("float32")
    for smoothing in (0.0, 0.1):
        ours = SmoothedCrossEntropy(smoothing)(labels, logits, sample_weight=weights)
        per_token = torch.nn.functional.cross_entropy(torch.tensor(logits).reshape(-1, 11),
                                                      torch.tensor(labels, dtype=torch.long).reshape(-1),
                                                      label_smoothing=smoothing, reduction="none").numpy()
        expected = (per_token * weights.reshape(-1)).sum() / weights.sum()  # padding counts nowhere
        np.testing.assert_allclose(float(ours), expected, rtol=1e-6)
    restored = keras.losses.deserialize(keras.losses.serialize(SmoothedCrossEntropy(0.2)))
    assert restored.label_smoothing == 0.2


def test_a_tiny_model_learns_pairs_by_heart_and_generates_them():
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "man", "dog", "runs", "sits", ".",
                  "ein", "mann", "hund", "läuft", "sitzt"]
    tokenizer = BertTokenizer(vocabulary, lowercase=False)
    pairs = ParallelTexts(["a man runs.", "a dog sits.", "a dog runs.", "a man sits."],
                          ["ein mann läuft.", "ein hund sitzt.", "ein hund läuft.", "ein mann sitzt."])
    keras.utils.set_random_seed(1)
    model = BertEncoderDecoder(BertEncoder(len(vocabulary), 1, 2, 32, 64, max_sequence_length=16, dropout=0.0))
    preprocessor = BertPreprocessor(tokenizer, 16, padding="longest")
    model.compile(keras.optimizers.Adam(3e-3), loss=SmoothedCrossEntropy())
    ds = seq2seq_dataset(pairs, preprocessor, 4, target_length=8)
    model.fit(ds.repeat(80), epochs=1, verbose=0)
    assert generate_texts(model, preprocessor, tokenizer, pairs.sources, 3, 8) == pairs.targets


def test_translate_takes_no_checkpoint():
    with pytest.raises(SystemExit, match="translate trains a new model with its own vocabulary"):
        translate.main(["--checkpoint", "bert_tiny_uncased"])


@pytest.mark.slow
def test_translate_recipe_learns_a_vocabulary_trains_and_prints_bleu(tmp_path, run_recipe):
    lines = run_recipe(RECIPE, "--max-train-examples", "200", "--epochs", "1", "--batch-size", "32",
                       "--vocabulary-size", "400", "--num-layers", "1", "--hidden-dim", "32", "--num-heads", "2",
                       "--intermediate-dim", "64", "--target-length", "24", "--max-test-examples", "24",
                       "--model-dir", tmp_path / "run", "--export-dir", tmp_path / "export")
    assert re.fullmatch(r"test BLEU: \d+\.\d\d", lines[-1]), lines[-3:]
    assert lines[0] == "data: 200 train, 1,014 dev, 24 test pairs"
    vocabulary = (tmp_path / "run" / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert vocabulary[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(vocabulary) < 440  # the builder lands near the size asked

    # The printed BLEU is sacrebleu's on the saved model's greedy translations of the first 24 test sentences.
    model = keras.saving.load_model(tmp_path / "run" / "last.keras", compile=False)
    assert model.preprocessor.tokenizer.get_vocabulary() == vocabulary
    test = read_parallel_text(DATA / "test_2016_flickr.en.gz", DATA / "test_2016_flickr.de.gz").head(24)
    hypotheses = generate_texts(model, model.preprocessor, model.preprocessor.tokenizer, test.sources, 32, 24)
    assert lines[-1] == f"test BLEU: {sacrebleu.corpus_bleu(hypotheses, [test.targets]).score:.2f}"
