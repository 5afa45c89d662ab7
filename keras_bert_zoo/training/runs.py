"""What every training recipe shares: its common flags, strategy and precision, and model loading."""

import argparse

import keras
import tensorflow as tf

from keras_bert_zoo import presets
from keras_bert_zoo.distribute import STRATEGIES, get_strategy


def add_common_flags(parser, checkpoint, model_dir, export_dir, learning_rate=5e-5):
    """Flags every recipe takes; the defaults run on the data the repository ships."""
    parser.add_argument("--checkpoint", default=checkpoint,
                        help="preset name, Hugging Face folder or Google checkpoint folder")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32, help="global batch size")
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=learning_rate, help="peak, after warmup")
    parser.add_argument("--warmup-fraction", type=float, default=0.1)
    parser.add_argument("--max-train-examples", type=int, help="use only the first N training examples")
    parser.add_argument("--strategy", default="auto", choices=STRATEGIES)
    parser.add_argument("--mixed-precision", action=argparse.BooleanOptionalAction, default=False,
                        help="float16 on GPU, bfloat16 on TPU/CPU")
    parser.add_argument("--jit-compile", action=argparse.BooleanOptionalAction, default=False, help="XLA")
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument("--model-dir", default=model_dir, help="TensorBoard logs, checkpoints, backups")
    parser.add_argument("--export-dir", default=export_dir, help="SavedModel base path (versions inside)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def configure(args):
    """Seeds everything, sets the precision policy and returns the tf.distribute strategy."""
    keras.utils.set_random_seed(args.seed)
    strategy = get_strategy(args.strategy)
    if args.mixed_precision:
        on_gpu = bool(tf.config.list_logical_devices("GPU"))
        keras.mixed_precision.set_global_policy("mixed_float16" if on_gpu else "mixed_bfloat16")
    return strategy


def load_encoder_and_preprocessor(checkpoint, sequence_length, **encoder_kwargs):
    """A BertEncoder and its matching BertPreprocessor from a preset name or a checkpoint folder.

    The preprocessor truncates at `sequence_length` and pads each batch to its longest row.
    """
    from keras_bert_zoo.encoder import BertEncoder
    from keras_bert_zoo.text import BertPreprocessor

    if checkpoint in presets.names():
        return (BertEncoder.from_preset(checkpoint, **encoder_kwargs),
                BertPreprocessor.from_preset(checkpoint, sequence_length=sequence_length, padding="longest"))
    return (BertEncoder.from_checkpoint(checkpoint, **encoder_kwargs),
            BertPreprocessor.from_checkpoint(checkpoint, sequence_length=sequence_length, padding="longest"))
