"""Fine-tune BERTSum extractive summarization on BBC News Summary and score it with ROUGE.

    python recipes/summarize_extractive.py          # the same run as: keras-bert-zoo train summarize_extractive
    python recipes/summarize_extractive.py --help   # every flag (data file, sequence length, checkpoint, ...)

With no arguments it fine-tunes all-MiniLM-L6-v2 on the articles in recipes/data/bbc_news_summary and prints
ROUGE-1/2/L F on held-out articles for the model, Lead-3 and the greedy oracle, last.
The training code (data, model, loss, evaluation) is keras_bert_zoo/tasks/summarize_extractive.py.
"""

from keras_bert_zoo.tasks import summarize_extractive

if __name__ == "__main__":
    summarize_extractive.main()
