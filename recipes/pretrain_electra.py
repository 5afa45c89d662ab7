"""Pretrain a tiny ELECTRA (generator + discriminator) on raw text, then fine-tune its discriminator.

    python recipes/pretrain_electra.py           # prints both losses per epoch; writes runs/pretrain_electra/
    python recipes/pretrain_electra.py --help    # every flag (corpus files, sizes, masking, checkpoint, ...)
    python recipes/classify.py --checkpoint runs/pretrain_electra/discriminator

The training code (data, model, losses, checkpoints) is keras_bert_zoo/tasks/pretrain_electra.py.
"""

from keras_bert_zoo.tasks import pretrain_electra

if __name__ == "__main__":
    pretrain_electra.main()
