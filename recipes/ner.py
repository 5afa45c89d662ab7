"""Fine-tune BERT for named-entity recognition (CoNLL-2003), then export a model that tags raw text.

    python recipes/ner.py                # the same run as: keras-bert-zoo train ner
    python recipes/ner.py --help         # every flag (data files, checkpoint, epochs, ...)

With no arguments it fine-tunes all-MiniLM-L6-v2 on the CoNLL-2003 train sample in recipes/data/conll2003,
prints entity-level precision, recall and F1 on the test set and writes a SavedModel for TF Serving to
saved_models/conll2003/<version>/ that returns the entities of raw text.
The training code (data, model, loss, metrics, evaluation, export) is keras_bert_zoo/tasks/ner.py.
"""

from keras_bert_zoo.tasks import ner

if __name__ == "__main__":
    ner.main()
