"""Pretrain ELECTRA on raw text: a generator fills masked tokens, a discriminator spots the replaced ones.

With no arguments it trains a tiny ELECTRA from random weights (discriminator: 2 layers, hidden 128; the
generator half as wide, sharing its embeddings) on the Wikipedia text in recipes/data/pretraining,
prints the generator's masked-LM loss and the discriminator's replaced-token-detection loss for every
epoch and on held-out text, and writes the discriminator as a Hugging Face `ElectraForPreTraining`
folder (runs/pretrain_electra/discriminator, which `python recipes/classify.py --checkpoint ...`
fine-tunes) and the generator as an `ElectraForMaskedLM` folder beside it, each with vocab.txt, and the
discriminator's encoder as a SavedModel (raw text -> `sequence_output`, `mean_embedding`) in
saved_models/pretrain_electra/<version>/.

With the defaults (6 epochs of 55 steps) the generator's loss falls 8.54 -> 6.43 and the discriminator's
0.47 -> 0.39, about the entropy of the replaced fraction (14%): on five articles the pipeline runs, not a
usable model (a tiny discriminator on text with structure learns the replacements themselves).

Each epoch draws new masks (15% of the wordpieces, BERT's 80/10/10 corruption, in tf.data); the
generator's samples replace the masked pieces, and the loss is masked-LM + 50 x replaced-token detection
(`keras_bert_zoo.models.electra.pretrainer`).

    python recipes/pretrain_electra.py
    python recipes/classify.py --checkpoint runs/pretrain_electra/discriminator
    python recipes/pretrain_electra.py --checkpoint path/to/electra_discriminator_folder --train-file corpus.txt
"""

import shlex
from pathlib import Path

from keras_bert_zoo.quiet import import_tensorflow

import_tensorflow()  # without its start-up log lines (KERAS_BERT_ZOO_VERBOSE=1 shows them)

import keras_bert_zoo as kbz  # noqa: E402
from keras_bert_zoo.data import pretraining_dataset, read_pretraining_text  # noqa: E402
from keras_bert_zoo.models.electra import ElectraEncoder  # noqa: E402
from keras_bert_zoo.models.electra.pretrainer import INPUTS, ElectraPretrainer  # noqa: E402
from keras_bert_zoo.training import runs  # noqa: E402

DATA = runs.shipped_data("pretraining")


def parser(prog=None):
    """The task's flags (`prog`: the command shown in its usage line, default the script's name)."""
    parser = runs.task_parser(__doc__, prog)
    parser.add_argument("--train-file", nargs="+", default=[DATA / "train.txt"],
                        help="one sentence a line, a blank line between documents")
    parser.add_argument("--dev-file", nargs="+", default=[DATA / "dev.txt"], help="held-out text, same format")
    parser.add_argument("--dupe-factor", type=int, default=5, help="passes over the corpus per epoch")
    parser.add_argument("--max-predictions-per-seq", type=int, default=10, help="15%% of 64 is 9.6")
    parser.add_argument("--masked-lm-prob", type=float, default=0.15)
    parser.add_argument("--num-layers", type=int, default=2, help="discriminator size, with --random-init")
    parser.add_argument("--hidden-dim", type=int, default=128, help="discriminator size, with --random-init")
    # Half the discriminator's width: at a quarter this tiny generator learns too little to teach detection.
    parser.add_argument("--generator-hidden-dim", type=int, default=64, help="0: a quarter of the discriminator's")
    parser.add_argument("--rtd-weight", type=float, default=50.0, help="weight of the discriminator's loss")
    runs.add_common_flags(parser, checkpoint="electra_small_discriminator", model_dir="runs/pretrain_electra",
                          export_dir="saved_models/pretrain_electra", learning_rate=2e-3, sequence_length=64,
                          epochs=6, random_init=True)
    return parser


def main(argv=None, prog=None):
    """Trains, evaluates and writes the checkpoints as the flags in `argv` (default: the command line's) say."""
    args = parser(prog).parse_args(argv)
    strategy = runs.configure(args, "--train-file", "--dev-file")
    train_documents = read_pretraining_text(args.train_file)
    dev_documents = read_pretraining_text(args.dev_file)

    with strategy.scope():
        random_init = args.random_init and args.checkpoint in kbz.presets.names()
        hidden = args.hidden_dim
        size = {"num_layers": args.num_layers, "hidden_dim": hidden, "num_heads": max(1, hidden // 64),
                "intermediate_dim": 4 * hidden, "embedding_dim": hidden} if random_init else {}
        encoder, preprocessor = runs.load_encoder_and_preprocessor(args.checkpoint, args.sequence_length,
                                                                   random_init=random_init, **size)
        if not isinstance(encoder, ElectraEncoder):
            raise SystemExit(f"error: --checkpoint {args.checkpoint} holds a {type(encoder).__name__}, not an ELECTRA "
                             "discriminator.")
        model = ElectraPretrainer(encoder, generator_hidden_dim=args.generator_hidden_dim or None,
                                  rtd_weight=args.rtd_weight, seed=args.seed)

        def batches(documents, seed, **options):  # the masked text, and what the masks hid
            dataset = pretraining_dataset(
                documents, preprocessor, args.batch_size, max_predictions_per_seq=args.max_predictions_per_seq,
                masked_lm_prob=args.masked_lm_prob, dupe_factor=args.dupe_factor, seed=seed, as_features=True,
                **options)
            return dataset.map(lambda features: {name: features[name] for name in INPUTS})

        steps_per_epoch = runs.count_batches(batches(train_documents, args.seed, max_examples=args.max_train_examples))
        print(f"data: {len(train_documents):,} training documents ({steps_per_epoch:,} batches of {args.batch_size} "
              f"a pass), {len(dev_documents):,} held-out documents", flush=True)

        def train_pass(seed):  # new masks every epoch
            return batches(train_documents, seed, max_examples=args.max_train_examples).repeat().take(steps_per_epoch)

        runs.compile(model, args, steps_per_epoch, loss=None)  # the model's own: masked LM + rtd_weight x detection

    history = runs.fit(model, args, train_pass, steps_per_epoch).history
    for epoch, (mlm, rtd) in enumerate(zip(history["mlm_loss"], history["rtd_loss"]), 1):
        print(f"epoch {epoch}: generator MLM loss {mlm:.4f}, discriminator RTD loss {rtd:.4f}")

    model_dir = Path(args.model_dir)
    vocabulary = preprocessor.tokenizer.get_vocabulary()
    discriminator = kbz.save_hf(model.discriminator, model_dir / "discriminator", vocabulary)
    generator = kbz.save_hf(model.generator, model_dir / "generator", vocabulary)
    scores = model.evaluate(batches(dev_documents, args.seed), return_dict=True, verbose=0)
    path = kbz.export.saved_model(encoder, args.export_dir, preprocessor=preprocessor,
                                  warmup_examples=[" ".join(document[:2]) for document in dev_documents[:4]])
    runs.finish(args.model_dir)
    print(f"saved {discriminator} (ElectraForPreTraining) and {generator} (ElectraForMaskedLM); "
          f"discriminator encoder exported to {path}")
    print(f"fine-tune it: python recipes/classify.py --checkpoint {shlex.quote(str(discriminator))}")
    print(f"held-out: generator MLM loss {scores['mlm_loss']:.4f}, discriminator RTD loss {scores['rtd_loss']:.4f}")
