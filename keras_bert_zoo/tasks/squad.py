"""Fine-tune BERT for extractive question answering (SQuAD), then export a model that answers raw strings.

With no arguments it fine-tunes the real all-MiniLM-L6-v2 on the first 11 articles of the SQuAD v1.1
training set (3,807 questions, in recipes/data/squad), reports exact match and F1 (0-100, as the official
scripts) on XQuAD-English (1,190 questions from SQuAD v1.1 dev, always answering) and SQuAD v2.0 figures on
a held-out v2.0 dev article (Victoria_(Australia), 247 questions, half unanswerable; no v2.0 question is
trained on), prints the XQuAD F1 last and writes a SavedModel for TF Serving to
saved_models/squad/<version>/ with the null threshold it printed. Pass the official files to train and
evaluate on them whole:

    python recipes/squad.py                      # or: keras-bert-zoo train squad
    keras-bert-zoo train squad --train-file train-v2.0.json --dev-file dev-v2.0.json --epochs 2 --sequence-length 384

A context longer than a window is read in several windows that share `--doc-stride` pieces; an answer is
the best span over them, or "no answer" when the null score beats it by more than the null threshold.
"""

import json
import math
from pathlib import Path

from keras_bert_zoo.quiet import import_tensorflow

import_tensorflow()  # without its start-up log lines (KERAS_BERT_ZOO_VERBOSE=1 shows them)

import keras  # noqa: E402

import keras_bert_zoo as kbz  # noqa: E402
from keras_bert_zoo.data import decode_answers, read_squad, squad_dataset, squad_features  # noqa: E402
from keras_bert_zoo.training import runs  # noqa: E402
from keras_bert_zoo.training.progress import batch_progress  # noqa: E402

DATA = runs.shipped_data("squad")
V1_TRAIN = DATA / "train-v1.1-first11.json"
V2_SAMPLE = DATA / "dev-v2.0-first5.json"
XQUAD = DATA / "xquad.en.json"


def parser(prog=None):
    """The task's flags (`prog`: the command shown in its usage line, default the script's name)."""
    parser = runs.task_parser(__doc__, prog)
    parser.add_argument("--train-file", nargs="+", help="SQuAD JSON (v1.1 or v2.0) files; needs --dev-file")
    parser.add_argument("--dev-file", help="SQuAD JSON; needs --train-file")
    parser.add_argument("--doc-stride", type=int, default=128, help="context pieces two windows share")
    parser.add_argument("--max-query-length", type=int, default=64, help="question pieces kept")
    parser.add_argument("--max-answer-length", type=int, default=30, help="longest answer, in pieces")
    parser.add_argument("--n-best", type=int, default=20, help="start and end candidates paired per window")
    parser.add_argument("--max-eval-examples", type=int, help="evaluate on the first N questions of each set")
    parser.add_argument("--null-score-threshold", type=float, default=0.0,
                        help='answer "" when null score - best span score exceeds it (inf: always answer)')
    parser.add_argument("--export-threshold", choices=("best", "flag"), default="best",
                        help="null threshold the SavedModel uses: the one with the best F1 on the SQuAD v2.0 "
                             "evaluation (always answer without one), or the flag's")
    # One pass over the 3,807 questions at 2e-4 reaches XQuAD F1 52 (45.9 at 1e-4) in ~22 CPU-minutes; a second
    # pass would not fit 15 minutes on 2 cores (benchmarks/RESULTS.md). Windows of 256 pieces hold most
    # contexts whole.
    runs.add_common_flags(parser, checkpoint="all_minilm_l6_v2", model_dir="runs/squad",
                          export_dir="saved_models/squad", learning_rate=2e-4, batch_size=16,
                          sequence_length=256, epochs=1)
    return parser


def parse_args(argv=None, prog=None):
    """The flags in `argv` (default: the command line's), parsed: --train-file and --dev-file go together."""
    flags = parser(prog)
    args = flags.parse_args(argv)
    if (args.train_file is None) != (args.dev_file is None):
        flags.error("give both --train-file and --dev-file, or neither (to use the shipped samples)")
    return args


def load_articles(args):
    """(train articles, {evaluation name: articles}): the files given, or the shipped samples."""
    if args.train_file:
        train = [article for path in args.train_file for article in _articles(path)]
        return train, {Path(args.dev_file).name: _articles(args.dev_file)}
    v2_article = _articles(V2_SAMPLE)[-1:]  # Victoria_(Australia): 247 questions keep the evaluation short
    return _articles(V1_TRAIN), {"XQuAD-English": _articles(XQUAD), "SQuAD v2.0 held-out article": v2_article}


def first_questions(articles, count):
    """SQuAD `articles` cut after their first `count` questions.

    >>> first_questions([{"paragraphs": [{"context": "c", "qas": [{"id": "1"}, {"id": "2"}]}]}], 1)
    [{'paragraphs': [{'context': 'c', 'qas': [{'id': '1'}]}]}]
    """
    kept = []
    for article in articles:
        paragraphs = []
        for paragraph in article["paragraphs"]:
            qas = paragraph["qas"][:count]
            count -= len(qas)
            if qas:
                paragraphs.append({**paragraph, "qas": qas})
        if paragraphs:
            kept.append({**article, "paragraphs": paragraphs})
    return kept


def _articles(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)["data"]


def main(argv=None, prog=None):
    """Trains, evaluates and exports as the flags in `argv` (default: the command line's) say."""
    args = parse_args(argv, prog)
    shipped = [] if args.train_file else [V1_TRAIN, V2_SAMPLE, XQUAD]  # the samples, without the flags
    runs.require_files(("--train-file and --dev-file", shipped))
    strategy = runs.configure(args, "--train-file", "--dev-file")  # after checking the data files exist
    windows = dict(max_seq_length=args.sequence_length, doc_stride=args.doc_stride,
                   max_query_length=args.max_query_length)

    # 1. Data: questions with their contexts, cut into windows by the checkpoint's tokenizer inside the
    #    tf.data graph; squad_dataset counts the windows (and so the batches of a pass) once, when made.
    train_articles, evaluations = load_articles(args)
    if args.max_eval_examples:
        evaluations = {name: first_questions(articles, args.max_eval_examples)
                       for name, articles in evaluations.items()}
    train = read_squad({"data": train_articles})
    num_train = min(len(train.ids), args.max_train_examples or len(train.ids))
    with strategy.scope():
        encoder, preprocessor = runs.load_encoder_and_preprocessor(args.checkpoint, args.sequence_length,
                                                                 random_init=args.random_init)
    # Batches of windows of similar length: most are 100-250 pieces, so 32-piece buckets pad little.
    buckets = [*range(32, args.sequence_length, 32), args.sequence_length]

    def train_pass(seed):
        return squad_dataset(train, preprocessor, args.batch_size, doc_stride=args.doc_stride,
                             max_query_length=args.max_query_length, shuffle=True, seed=seed,
                             max_examples=args.max_train_examples, bucket_by_sequence_length=buckets)

    steps_per_epoch = runs.count_batches(train_pass(args.seed))
    sizes = ", ".join(f"{sum(len(p['qas']) for a in articles for p in a['paragraphs'])} in {name}"
                      for name, articles in evaluations.items())
    print(f"data: {num_train:,} training questions -> {steps_per_epoch:,} batches a pass; "
          f"evaluation questions: {sizes}", flush=True)

    # 2. Model: encoder + a dense layer giving each token a start and an end score.
    with strategy.scope():
        model = kbz.BertSpanQA(encoder, doc_stride=args.doc_stride, max_query_length=args.max_query_length,
                               n_best=args.n_best, max_answer_length=args.max_answer_length,
                               preprocessor=preprocessor)
        span_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        runs.compile(model, args, steps_per_epoch, loss={"start_logits": span_loss, "end_logits": span_loss})

    # 3. Train (resumable: rerun the same command after a kill). No validation pass inside fit: the
    #    evaluation below reads every set once, with the official scores.
    runs.fit(model, args, train_pass, steps_per_epoch)

    # 4. Evaluate: the best span of every question, then the official scores (v2.0 ones where a set has
    #    unanswerable questions, with the null threshold that scores best there).
    results = {name: evaluate(model, articles, preprocessor, windows, args, name)
               for name, articles in evaluations.items()}
    v2 = [name for name, (scores, _, _) in results.items() if "NoAns_total" in scores]
    if args.export_threshold == "flag":
        threshold = args.null_score_threshold
    else:
        threshold = best_f1_threshold(results[v2[-1]][0]) if v2 else float("inf")
    for name, (scores, _, scores_at) in results.items():
        print_scores(name, scores, args.null_score_threshold, threshold, scores_at(threshold))

    # 5. Ship: a SavedModel that takes a question and its context as raw strings, as TF Serving loads it.
    model.null_score_threshold = threshold  # chosen by the evaluation: saved with the model, for every export
    runs.save_model(model, args.model_dir)
    card = _card_facts(args, argv, prog, num_train, results)
    runs.save_run_info(args.model_dir, export_dir=args.export_dir, card=card)
    examples = read_squad({"data": list(evaluations.values())[0]})
    warmup = list(zip(examples.questions, examples.contexts))[:4]
    path = kbz.export.saved_model(model, args.export_dir, warmup_examples=warmup, card=card)
    runs.finish(args.model_dir)  # outputs written: the backup goes (a kill before this resumes after training)
    print(f"exported to {path} with null score threshold {threshold:.4f}")
    name, (scores, _, _) = next(iter(results.items()))
    print(f"{name} F1: {scores['f1']:.2f}")


def evaluate(model, articles, preprocessor, windows, args, name="dev"):
    """(official scores at --null-score-threshold, answers, scores at a threshold) on SQuAD `articles`.

    Decoding with an infinite threshold keeps each question's best span; the official v2.0 script then
    applies the threshold to the null odds (and finds the one that would have scored best). A set with
    no unanswerable question is scored as SQuAD v1.1: always answering.
    """
    examples = read_squad({"data": articles})
    features = squad_features(examples, preprocessor, **windows)
    print(f"evaluating on {len(examples.ids):,} questions of {name} ({len(features.inputs['token_ids']):,} windows)...",
          flush=True)
    logits = model.predict(features.inputs, batch_size=2 * args.batch_size, verbose=0,
                           callbacks=batch_progress(f"evaluating {name}"))
    answers, null_odds = decode_answers(logits["start_logits"], logits["end_logits"], features, n_best=args.n_best,
                                        max_answer_length=args.max_answer_length,
                                        null_score_diff_threshold=float("inf"))
    v1 = all(examples.answers)

    def scores_at(threshold):
        return kbz.metrics.squad_scores(articles, answers, na_probs=None if v1 else null_odds,
                                        na_prob_thresh=threshold)

    return scores_at(float("inf") if v1 else args.null_score_threshold), answers, scores_at


def _card_facts(args, argv, prog, num_train, results):
    """What the export's model card cannot know itself: base checkpoint, training data, the official scores of each
    evaluation set (at --null-score-threshold), command."""
    data = "SQuAD v1.1 train, first 11 articles" if args.train_file is None else ", ".join(map(str, args.train_file))
    metrics = {f"{name} {label}": scores[key] for name, (scores, _, _) in results.items()
               for key, label in (("exact", "exact match"), ("f1", "F1"))}
    return runs.card_facts(args, argv, __file__, f"{data}: {num_train} training questions", metrics, prog=prog)


def best_f1_threshold(scores):
    """The null score threshold with the best dev F1, from `squad_scores` with null odds as na_probs.

    When answering no question scores best, the official script reports 0.0, a threshold meant for null
    probabilities; for null odds, which can be negative, "never answer" is -inf.

    >>> best_f1_threshold({"best_f1": 50.0, "best_f1_thresh": 0.0, "NoAns_total": 1, "total": 2})
    -inf
    >>> best_f1_threshold({"best_f1": 75.0, "best_f1_thresh": -1.5, "NoAns_total": 1, "total": 2})
    -1.5
    """
    never_answer_f1 = 100.0 * scores.get("NoAns_total", 0) / scores["total"]
    return float("-inf") if math.isclose(scores["best_f1"], never_answer_f1) else scores["best_f1_thresh"]


def print_scores(name, scores, flag_threshold, threshold, at_threshold):
    """The official script's figures: all questions, answerable and unanswerable, and at `threshold`."""
    unanswerable = "NoAns_total" in scores
    print(f"{name}: exact match {scores['exact']:.2f}, F1 {scores['f1']:.2f} over {scores['total']} questions "
          + (f"(null score threshold {flag_threshold:g})" if unanswerable else "(SQuAD v1.1: always answering)"))
    for part in ("HasAns", "NoAns"):
        if f"{part}_total" in scores and unanswerable:
            print(f"  {part}: exact {scores[f'{part}_exact']:.2f}, F1 {scores[f'{part}_f1']:.2f} "
                  f"over {scores[f'{part}_total']}")
    if unanswerable and threshold != flag_threshold:
        print(f"  at the exported null score threshold {threshold:.4f}: exact {at_threshold['exact']:.2f}, "
              f"F1 {at_threshold['f1']:.2f}")

