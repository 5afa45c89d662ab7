"""Training pieces: BERT's optimizer and schedule, and the default callbacks."""

from keras_bert_zoo.training.backup import ResumableBackupAndRestore, replayable_epochs
from keras_bert_zoo.training.callbacks import default_callbacks
from keras_bert_zoo.training.optimizer import AdamW, LayerwiseAdamW, create_optimizer
from keras_bert_zoo.training.schedule import WarmupLinearDecay
