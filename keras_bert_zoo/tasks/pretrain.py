"""Pretrain BERT on raw text (masked LM + next sentence prediction), then fine-tune what it learned.

With no arguments it trains the bert_tiny_uncased architecture (2 layers, hidden 128) from random
weights (`--random-init` is this recipe's default for a preset; `--no-random-init` continues from the
preset's real weights) on the Wikipedia text in recipes/data/pretraining (five articles, ~14,000
words), reports masked-LM and NSP accuracy on held-out paragraphs, and writes the pretrained model
as a Hugging Face folder (runs/pretrain/hf) and a google-research/bert checkpoint (runs/pretrain/google),
both with the pretraining heads and vocab.txt, plus an encoder SavedModel (raw text -> `pooled_output`,
`mean_embedding`) in saved_models/pretrain/<version>/.

Each epoch draws new sentence pairs, NSP negatives and masks (BERT's create_pretraining_data, in
tf.data): `--dupe-factor` pairings of the corpus per epoch (`--max-train-examples` counts these pairs).
A corpus is text files with one sentence a line and a blank line between documents. The checkpoints
hold the weights at the end of training.

    python recipes/pretrain.py                   # or: keras-bert-zoo train pretrain
    python recipes/classify.py --checkpoint runs/pretrain/hf      # fine-tune the result
    keras-bert-zoo train pretrain --checkpoint path/to/bert_folder --train-file corpus.txt --dev-file held_out.txt
"""

import argparse
import shlex
from pathlib import Path

from keras_bert_zoo.quiet import import_tensorflow

import_tensorflow()  # without its start-up log lines (KERAS_BERT_ZOO_VERBOSE=1 shows them)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_bert_zoo as kbz  # noqa: E402
from keras_bert_zoo.data import (  # noqa: E402
    IGNORE_LABEL,
    pretraining_dataset,
    read_pretraining_text,
)
from keras_bert_zoo.loading import read_checkpoint  # noqa: E402
from keras_bert_zoo.progress import phase  # noqa: E402
from keras_bert_zoo.training import runs  # noqa: E402
from keras_bert_zoo.training.progress import batch_progress  # noqa: E402

DATA = runs.shipped_data("pretraining")


def parser(prog=None):
    """The task's flags (`prog`: the command shown in its usage line, default the script's name)."""
    parser = runs.task_parser(__doc__, prog)
    parser.add_argument("--train-file", nargs="+", default=[DATA / "train.txt"],
                        help="one sentence a line, a blank line between documents")
    parser.add_argument("--dev-file", nargs="+", default=[DATA / "dev.txt"], help="held-out text, same format")
    parser.add_argument("--dupe-factor", type=int, default=10, help="pairings of the corpus per epoch")
    parser.add_argument("--max-predictions-per-seq", type=int, default=10, help="15%% of 64 is 9.6")
    parser.add_argument("--masked-lm-prob", type=float, default=0.15)
    parser.add_argument("--whole-word-masking", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--pair-task", choices=("nsp", "sop"), default="nsp",
                        help="sentence pairs: BERT's next-sentence (nsp) or ALBERT's sentence-order (sop) ones")
    # From scratch a small model takes a high learning rate. 64 wordpieces hold two of this corpus'
    # sentences (~30 pieces each) and make 5x cheaper steps on CPU than 128.
    runs.add_common_flags(parser, checkpoint="bert_tiny_uncased", model_dir="runs/pretrain",
                          export_dir="saved_models/pretrain", learning_rate=1e-3, sequence_length=64, epochs=6,
                          random_init=True)
    return parser


def main(argv=None, prog=None):
    """Trains, evaluates and exports as the flags in `argv` (default: the command line's) say."""
    args = parser(prog).parse_args(argv)
    strategy = runs.configure(args, "--train-file", "--dev-file")  # after checking the data files exist

    # 1. Data: documents (lists of sentences). Pairs, NSP labels, masks and wordpieces are made in tf.data.
    train_documents = read_pretraining_text(args.train_file)
    dev_documents = read_pretraining_text(args.dev_file)

    # 2. Model: the encoder with BERT's pretraining heads: masked LM (tied to the word embeddings) and NSP.
    with strategy.scope():
        pretrainer, preprocessor = load_pretrainer(args.checkpoint, args.sequence_length, args.random_init)
        tokenizer = preprocessor.tokenizer

        def pairs(documents, seed, **options):
            return pretraining_dataset(
                documents, preprocessor, args.batch_size, max_predictions_per_seq=args.max_predictions_per_seq,
                masked_lm_prob=args.masked_lm_prob, whole_word_masking=args.whole_word_masking,
                dupe_factor=args.dupe_factor, seed=seed, pair_task=args.pair_task, **options,
            )

        steps_per_epoch = runs.count_batches(pairs(train_documents, args.seed, max_examples=args.max_train_examples))
        print(f"data: {len(train_documents):,} training documents ({steps_per_epoch:,} batches of {args.batch_size} "
              f"sentence pairs a pass), {len(dev_documents):,} held-out documents", flush=True)

        def train_pass(seed):  # new pairs and masks every epoch; their number varies a little with the seed
            epoch = pairs(train_documents, seed, max_examples=args.max_train_examples)
            return epoch.repeat().take(steps_per_epoch)

        # The MLM loss is the mean over real predictions (BERT's); the data's sample weights serve the metrics.
        runs.compile(pretrainer, args, steps_per_epoch,
                     loss={"mlm_logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                                    ignore_class=IGNORE_LABEL),
                           "nsp_logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
                     weighted_metrics={"mlm_logits": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
                                       "nsp_logits": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]})

    # 3. Train (resumable: rerun the same command after a kill). The loss (MLM + NSP) on held-out text,
    # before training (of the model as loaded) and after each epoch, shows what generalizes.
    dev_ds = pairs(dev_documents, args.seed)
    print("evaluating the held-out loss before training...", flush=True)
    initial_loss = pretrainer.evaluate(dev_ds, return_dict=True, verbose=0, callbacks=batch_progress())["loss"]
    history = runs.fit(pretrainer, args, train_pass, steps_per_epoch, validation_data=dev_ds).history
    print(f"training loss by epoch: {_losses(history.get('loss', []))}")
    print(f"held-out loss: {initial_loss:.3f} before training, by epoch: {_losses(history.get('val_loss', []))}")

    # 4. Evaluate on the held-out pairs. Random pairs can outnumber real ones (a one-sentence chunk
    # always gets a random next sentence), so NSP accuracy is to be read against the majority class.
    print("evaluating on the held-out pairs...", flush=True)
    scores = pretrainer.evaluate(dev_ds, return_dict=True, verbose=0, callbacks=batch_progress())
    random_next = np.concatenate([targets["nsp_logits"] for _, targets, _ in dev_ds.as_numpy_iterator()])

    # 5. Ship: checkpoints the fine-tuning recipes load, and the encoder as a SavedModel (sentence embeddings).
    model_dir = Path(args.model_dir)
    vocabulary = tokenizer.get_vocabulary()
    with phase(f"writing checkpoints to {model_dir / 'hf'} and {model_dir / 'google'}"):
        hf_dir = kbz.save_hf(pretrainer, model_dir / "hf", vocabulary)
        google_dir = kbz.save_google_checkpoint(pretrainer, model_dir / "google", vocabulary)
    card = _card_facts(args, argv, prog, len(train_documents), scores)
    runs.save_run_info(args.model_dir, export_dir=args.export_dir, card=card)
    path = kbz.export.saved_model(pretrainer, args.export_dir,
                                  warmup_examples=[" ".join(document[:2]) for document in dev_documents[:4]],
                                  card=card)
    runs.finish(args.model_dir)  # outputs written: the backup goes (a kill before this resumes after training)
    print(f"saved {hf_dir} (Hugging Face) and {google_dir} (google-research/bert); encoder exported to {path}")
    print(f"fine-tune it: python recipes/classify.py --checkpoint {shlex.quote(str(hf_dir))}")
    print(f"held-out: {len(random_next)} pairs, {np.mean(random_next):.1%} with a random next sentence "
          f"(NSP accuracy of always guessing the majority: {max(np.mean(random_next), 1 - np.mean(random_next)):.4f})")
    print(f"MLM accuracy: {scores['mlm_logits_accuracy']:.4f}  NSP accuracy: {scores['nsp_logits_accuracy']:.4f}")


def load_pretrainer(checkpoint, sequence_length, random_init=False):
    """`(BertPretrainer, BertPreprocessor)` from a preset or a checkpoint folder.

    A checkpoint with pretraining heads (e.g. one this recipe wrote) continues with them; otherwise
    new, randomly initialized heads go on the encoder (random too with `random_init` for a preset).
    """
    if Path(checkpoint).is_dir() and _has_pretraining_heads(checkpoint):
        print(f"continuing from {checkpoint}: encoder and pretraining heads")
        preprocessor = kbz.load_preprocessor(checkpoint, sequence_length=sequence_length, padding="longest")
        pretrainer = kbz.load(checkpoint, model_class=kbz.BertPretrainer)
        pretrainer.preprocessor = preprocessor  # saved with it: exports of the run take raw text
        return pretrainer, preprocessor
    random_init = random_init and checkpoint in kbz.presets.names()  # a folder's weights always load
    encoder, preprocessor = runs.load_encoder_and_preprocessor(checkpoint, sequence_length, random_init=random_init)
    print(f"{checkpoint}: {'random encoder' if random_init else 'its encoder'}, new pretraining heads")
    return kbz.BertPretrainer(encoder, preprocessor=preprocessor), preprocessor


def _card_facts(args, argv, prog, num_documents, scores):
    """What the export's model card cannot know itself: base checkpoint, pretraining text, held-out scores, command."""
    shipped = [Path(path).resolve() for path in args.train_file] == [(DATA / "train.txt").resolve()]
    data = "Wikipedia sample (recipes/data/pretraining)" if shipped else ", ".join(map(str, args.train_file))
    metrics = {"held-out loss": scores["loss"], "held-out MLM accuracy": scores["mlm_logits_accuracy"],
               "held-out NSP accuracy": scores["nsp_logits_accuracy"]}
    return runs.card_facts(args, argv, __file__, f"{data}: {num_documents} documents, {args.epochs} epochs of "
                           "masked LM and next sentence prediction", metrics, prog=prog)


def _losses(values):
    return " ".join(f"{value:.3f}" for value in values)


def _has_pretraining_heads(folder):
    """Whether a checkpoint folder holds MLM/NSP weights (`cls.*`). Reads the weights, which then load again."""
    _, state, _ = read_checkpoint(folder)
    return any(name.startswith("cls.") for name in state)

