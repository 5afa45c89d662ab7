"""Fine-tune a BERT2BERT warm-started from all-MiniLM-L6-v2 to write BBC News summaries, scored with ROUGE.

    python recipes/summarize.py          # the same run as: keras-bert-zoo train summarize
    python recipes/summarize.py --help   # every flag (data file, lengths, checkpoint, ...)

With no arguments it fine-tunes on the first 400 training articles in recipes/data/bbc_news_summary, writes a
summary of each held-out test article and prints ROUGE-1/2/L F of Lead-3 and of the model, the model's last.
The training code (data, model, loss, evaluation) is keras_bert_zoo/tasks/summarize.py.
"""

from keras_bert_zoo.tasks import summarize

if __name__ == "__main__":
    summarize.main()
