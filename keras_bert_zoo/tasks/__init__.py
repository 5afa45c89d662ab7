"""Training tasks: one module per task holds its whole training run as library code.

Each of `classify`, `ner`, `squad`, `multiple_choice`, `pretrain`, `pretrain_electra`, `summarize_extractive`,
`summarize`, `translate` (`seq2seq`: what the last two share) and `distill` (its students are run folders that
`keras-bert-zoo export` ships) has `parser(prog=None)` (its flags, the shared ones from
`keras_bert_zoo.training.runs` included) and
`main(argv=None, prog=None)`: read the data, build the model under the strategy, train (resumable),
evaluate, export. `recipes/<task>.py` and `keras-bert-zoo train TASK [flags]` both call `main`; with no
flags it runs on the samples a source checkout ships in recipes/data/ (an installed package has none:
give the files with --train-file, ...).

    from keras_bert_zoo.tasks import classify
    classify.main(["--train-file", "train.tsv", "--dev-file", "dev.tsv", "--epochs", "2"])

`compress` (`keras-bert-zoo compress RUN`: distil, prune and quantize a classify run into a new run folder)
is a task of the same shape that is not trained by `train`.

The task level sits above export and below the CLI: importing this package imports no task (nor TensorFlow).
"""

TASKS = ("classify", "distill", "multiple_choice", "ner", "pretrain", "pretrain_electra", "squad", "summarize",
         "summarize_extractive", "translate")
