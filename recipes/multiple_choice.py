"""Fine-tune BERT for multiple choice (COPA, SWAG), then export a model that picks the right answer.

    python recipes/multiple_choice.py          # the same run as: keras-bert-zoo train multiple_choice
    python recipes/multiple_choice.py --help   # every flag (SWAG .csv or .jsonl files, checkpoint, ...)

With no arguments it fine-tunes all-MiniLM-L6-v2 on the COPA-style sample in recipes/data/multiple_choice,
prints dev accuracy and writes a SavedModel for TF Serving to saved_models/multiple_choice/<version>/.
The training code (data, model, loss, metrics, evaluation, export) is keras_bert_zoo/tasks/multiple_choice.py.
"""

from keras_bert_zoo.tasks import multiple_choice

if __name__ == "__main__":
    multiple_choice.main()
