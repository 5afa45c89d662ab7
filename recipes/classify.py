"""Fine-tune BERT to classify sentences (or sentence pairs), then export a model that takes raw strings.

    python recipes/classify.py           # the same run as: keras-bert-zoo train classify
    python recipes/classify.py --help    # every flag (data files, columns, checkpoint, epochs, ...)

With no arguments it fine-tunes all-MiniLM-L6-v2 on the SST-2 sample in recipes/data/sst2, prints the
accuracy on the SST-2 dev set and writes a SavedModel for TF Serving to saved_models/sst2/<version>/.
The training code (data, model, loss, metrics, evaluation, export) is keras_bert_zoo/tasks/classify.py.
"""

from keras_bert_zoo.tasks import classify

if __name__ == "__main__":
    classify.main()
