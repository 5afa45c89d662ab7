"""Fine-tune BERT for extractive question answering (SQuAD), then export a model that answers raw strings.

    python recipes/squad.py              # the same run as: keras-bert-zoo train squad
    python recipes/squad.py --help       # every flag (data files, windows, null threshold, ...)

With no arguments it fine-tunes all-MiniLM-L6-v2 on the SQuAD v1.1 sample in recipes/data/squad, prints
exact match and F1 on XQuAD-English and a held-out SQuAD v2.0 article, and writes a SavedModel for TF
Serving to saved_models/squad/<version>/.
The training code (data, model, loss, decoding, evaluation, export) is keras_bert_zoo/tasks/squad.py.
"""

from keras_bert_zoo.tasks import squad

if __name__ == "__main__":
    squad.main()
