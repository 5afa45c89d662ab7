"""recipes/summarize.py end to end on a tiny slice: BERT2BERT from an encoder checkpoint's architecture, trained,
its beam-search summaries (4 beams, no repeated trigram) scored with ROUGE as rouge-score scores them."""

import re
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from rouge_score import rouge_scorer

from keras_bert_zoo.data.summarization import read_articles, split_articles
from keras_bert_zoo.tasks.seq2seq import generate_texts

RECIPE = Path(__file__).parents[1] / "recipes" / "summarize.py"
DATA = RECIPE.parent / "data" / "bbc_news_summary" / "bbc_news_summary.jsonl.gz"
SCORE = r"ROUGE-1 (0\.\d{4})  ROUGE-2 (0\.\d{4})  ROUGE-L (0\.\d{4})"


@pytest.mark.slow
def test_summarize_recipe_trains_and_prints_rouge_last(tmp_path, run_recipe):
    lines = run_recipe(RECIPE, "--checkpoint", "bert_tiny_uncased", "--random-init", "--max-train-examples", "16",
                       "--epochs", "1", "--batch-size", "8", "--sequence-length", "64", "--target-length", "16",
                       "--max-test-examples", "6", "--model-dir", tmp_path / "run", "--export-dir", tmp_path / "export")
    model_scores = re.fullmatch(r" +model: " + SCORE, lines[-1])
    assert model_scores, lines[-3:]
    assert re.fullmatch(r" +Lead-3: " + SCORE, lines[-2])
    assert lines[-3] == "test: 6 articles; ROUGE F (rouge-score, stemmed) against the reference summaries"

    # The printed ROUGE is rouge-score's on the saved model's summaries of the first 6 test articles.
    _, _, test, _ = split_articles(read_articles(DATA), 0, 100, 200)
    model = keras.saving.load_model(tmp_path / "run" / "last.keras", compile=False)
    assert type(model).__name__ == "BertEncoderDecoder" and model.encoder.num_layers == 2
    summaries = generate_texts(model, model.preprocessor, model.preprocessor.tokenizer,
                               [row["article"] for row in test[:6]], 8, 16, num_beams=4,
                               no_repeat_ngram_size=3)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    scores = [scorer.score(row["summary"], summary) for row, summary in zip(test[:6], summaries)]
    for index, name in enumerate(["rouge1", "rouge2", "rougeL"], 1):
        assert model_scores[index] == f"{np.mean([score[name].fmeasure for score in scores]):.4f}"

    # The export decodes as the recipe did by default: its text for the first article is the recipe's.
    served = tf.saved_model.load(str(tmp_path / "export" / "1")).signatures["serving_default"]
    assert served(text=tf.constant([test[0]["article"]]))["generated_text"].numpy()[0].decode() == summaries[0]
