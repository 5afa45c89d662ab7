"""Fine-tuning step for step as transformers + torch do: the same weights and batches give the same model.

A tiny random BertForSequenceClassification and our BertClassifier loaded from its folder, dropout off,
train on the same padded batches (repeated tokens: an embedding gradient with repeated rows) with AdamW
(warmup + linear decay, weight decay off biases and LayerNorm, epsilon 1e-6) and global-norm clipping
(active). Before the fix, Keras' epsilon placement and the norm of the embedding's IndexedSlices gradient put
the logits 1e-4 to 1e-2 apart within 20 steps.
"""

import keras
import numpy as np
import pytest
import torch
import transformers

import keras_bert_zoo as kbz
from keras_bert_zoo.training import create_optimizer

STEPS, LEARNING_RATE, CLIP = 12, 1e-3, 0.2


def _batches(rng, vocabulary_size):
    batches = []
    for _ in range(STEPS):
        lengths = rng.integers(3, 9, size=8)
        mask = (np.arange(lengths.max()) < lengths[:, None]).astype("int64")
        ids = rng.integers(1, 12, size=mask.shape) * mask  # 11 distinct tokens: many repeats in a batch
        batches.append(({"input_ids": ids, "token_type_ids": np.zeros_like(ids), "attention_mask": mask},
                        rng.integers(0, 2, size=8)))
    return batches


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_training_matches_transformers_and_torch_adamw(tmp_path, weight_decay):
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=16, hidden_dropout_prob=0.0,
                                     attention_probs_dropout_prob=0.0, num_labels=2)
    reference = transformers.BertForSequenceClassification(config)
    reference.save_pretrained(tmp_path / "hf")
    ours = kbz.load(tmp_path / "hf")
    ours = kbz.BertClassifier(ours.encoder, num_classes=2, dropout=0.0)
    ours.get_layer("logits").set_weights([reference.classifier.weight.detach().numpy().T,
                                          reference.classifier.bias.detach().numpy()])
    no_decay = [p for n, p in reference.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    decay = [p for n, p in reference.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=LEARNING_RATE, eps=1e-6)
    schedule = transformers.get_linear_schedule_with_warmup(optimizer, 2, STEPS)
    ours.compile(optimizer=create_optimizer(LEARNING_RATE, STEPS, 2, weight_decay=weight_decay, global_clipnorm=CLIP),
                 loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    batches = _batches(np.random.default_rng(0), config.vocab_size)

    def ours_inputs(x):
        return {"token_ids": x["input_ids"].astype("int32"), "segment_ids": x["token_type_ids"].astype("int32"),
                "padding_mask": x["attention_mask"].astype("int32")}

    norms = []
    for x, y in batches:
        reference.train()
        loss = reference(**{k: torch.tensor(v) for k, v in x.items()}, labels=torch.tensor(y)).loss
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(reference.parameters(), CLIP)))
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        ours.train_on_batch(ours_inputs(x), y)
    assert max(norms) > CLIP  # clipping was active
    reference.eval()
    with torch.no_grad():
        for x, _ in batches[:3]:
            expected = reference(**{k: torch.tensor(v) for k, v in x.items()}).logits.numpy()
            np.testing.assert_allclose(ours.predict_on_batch(ours_inputs(x)), expected, rtol=0, atol=2e-5)
