"""Train a small BERT encoder-decoder from scratch on Multi30k English -> German and score it with BLEU.

    python recipes/translate.py          # the same run as: keras-bert-zoo train translate
    python recipes/translate.py --max-train-examples 29000 --epochs 3   # the full run: test BLEU 30.82 (RESULTS.md)
    python recipes/translate.py --help   # every flag (data files, vocabulary size, model size, ...)

It learns a joint WordPiece vocabulary from the training pairs, trains on the pairs in recipes/data/multi30k,
translates test_2016_flickr greedily and prints its BLEU (sacrebleu) last.
The training code (vocabulary, data, model, loss, evaluation) is keras_bert_zoo/tasks/translate.py.
"""

from keras_bert_zoo.tasks import translate

if __name__ == "__main__":
    translate.main()
