"""Distil the SST-2 classifier of recipes/classify.py into 3- and 2-layer students, and compare them.

    python recipes/distill.py           # the same run as: keras-bert-zoo train distill
    python recipes/distill.py --help    # every flag (teacher run, student layers, temperature, ...)

With no arguments the teacher is runs/classify (all-MiniLM-L6-v2 fine-tuned on the SST-2 sample; trained
first when missing); the last lines compare dev accuracy, .keras size and latency at batch 1 and 32 on 2
threads with the teacher's. The code is keras_bert_zoo/tasks/distill.py.
"""

from keras_bert_zoo.tasks import distill

if __name__ == "__main__":
    distill.main()
