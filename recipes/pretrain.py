"""Pretrain BERT on raw text (masked LM + next sentence prediction), then fine-tune what it learned.

    python recipes/pretrain.py           # the same run as: keras-bert-zoo train pretrain
    python recipes/pretrain.py --help    # every flag (corpus files, masking, checkpoint, ...)

With no arguments it trains the bert_tiny_uncased architecture from random weights on the Wikipedia
sample in recipes/data/pretraining, prints masked-LM and NSP accuracy on held-out text, and writes
Hugging Face and Google checkpoints to runs/pretrain/ (which `python recipes/classify.py --checkpoint
runs/pretrain/hf` fine-tunes) and an encoder SavedModel to saved_models/pretrain/<version>/.
The training code (data, model, losses, evaluation, checkpoints, export) is keras_bert_zoo/tasks/pretrain.py.
"""

from keras_bert_zoo.tasks import pretrain

if __name__ == "__main__":
    pretrain.main()
