import keras
import numpy as np
import pytest
from conftest import TINY, make_inputs

import keras_bert_zoo as kbz
from keras_bert_zoo.training import WarmupLinearDecay, create_optimizer
from keras_bert_zoo.training.optimizer import AdamW, LayerwiseAdamW, layer_depth


def test_schedule_warms_up_then_decays_linearly_to_zero():
    schedule = WarmupLinearDecay(1e-3, total_steps=110, warmup_steps=10)
    values = [float(schedule(step)) for step in (0, 5, 10, 60, 110, 200)]
    np.testing.assert_allclose(values, [0.0, 5e-4, 1e-3, 5e-4, 0.0, 0.0], atol=1e-9)
    assert WarmupLinearDecay.from_config(schedule.get_config()).get_config() == schedule.get_config()


def test_schedule_rejects_warmup_longer_than_training():
    with pytest.raises(ValueError, match="warmup_steps <= total_steps"):
        WarmupLinearDecay(1e-3, total_steps=10, warmup_steps=20)


def _one_step(optimizer, model):
    """One update with zero gradients: only weight decay moves a variable."""
    before = {v.path: v.numpy().copy() for v in model.trainable_variables}
    optimizer.apply([keras.ops.zeros_like(v) for v in model.trainable_variables], model.trainable_variables)
    return {v.path: not np.array_equal(before[v.path], v.numpy()) for v in model.trainable_variables}


def test_no_weight_decay_on_layer_norm_and_biases():
    model = kbz.BertClassifier(kbz.BertEncoder(**TINY), num_classes=2)
    optimizer = create_optimizer(1e-2, num_train_steps=10, warmup_steps=0, weight_decay=0.1)
    moved = _one_step(optimizer, model)
    for path, changed in moved.items():
        leaf = path.split("/")[-1]
        assert changed == (leaf not in ("gamma", "beta", "bias", "output_bias")), path


def test_layer_depths():
    assert layer_depth("token_embedding/embeddings", 4) == 0
    assert layer_depth("transformer_layer_0/self_attention_layer/query/kernel", 4) == 1
    assert layer_depth("transformer_layer_3/feedforward_output_dense/bias", 4) == 4
    assert layer_depth("pooled_dense/kernel", 4) == 5 and layer_depth("logits/kernel", 4) == 5
    # a name scope or an outer model prefixes the encoder's paths
    assert layer_depth("outer/token_embedding/embeddings", 4) == 0
    assert layer_depth("outer/transformer_layer_2/self_attention_layer/query/kernel", 4) == 3
    with pytest.raises(ValueError, match="transformer_layer_4/output/bias is in transformer_layer_4 but num_layers=4"):
        layer_depth("transformer_layer_4/output/bias", 4)


def test_layerwise_decay_under_a_name_scope_is_not_uniform():
    with keras.name_scope("outer"):
        model = kbz.BertClassifier(kbz.BertEncoder(**TINY), num_classes=2)
    optimizer = create_optimizer(1e-2, 10, 0, layerwise_lr_decay=0.5, num_layers=TINY["num_layers"])
    optimizer.build(model.trainable_variables)
    assert model.trainable_variables[0].path == "outer/token_embedding/embeddings"
    assert optimizer._lr_multipliers[0] == 0.5 ** (TINY["num_layers"] + 1)
    with pytest.raises(ValueError, match=r"places none of these variables in the encoder .*\['x'\]"):
        create_optimizer(1e-2, 10, 0, layerwise_lr_decay=0.5, num_layers=2).build([keras.Variable(1.0, name="x")])


def test_layerwise_decay_scales_each_layers_step():
    keras.utils.set_random_seed(0)
    model = kbz.BertClassifier(kbz.BertEncoder(**TINY), num_classes=2)
    optimizer = create_optimizer(1e-2, 10, 0, weight_decay=0.0, global_clipnorm=None, layerwise_lr_decay=0.5,
                                 num_layers=TINY["num_layers"])
    variables = model.trainable_variables
    before = [v.numpy().copy() for v in variables]
    lr = float(optimizer.learning_rate)  # the schedule's value for the first step
    optimizer.apply([keras.ops.ones_like(v) for v in variables], variables)  # Adam's first step = lr * sign
    steps = {v.path: float(np.abs(b - v.numpy()).max()) for v, b in zip(variables, before)}
    top = TINY["num_layers"] + 1
    for path, step in steps.items():
        expected = lr * 0.5 ** (top - layer_depth(path, TINY["num_layers"]))
        assert step == pytest.approx(expected, rel=1e-3), path


@pytest.mark.parametrize("clip", [{"clipnorm": 0.05, "global_clipnorm": None}, {"global_clipnorm": 0.1}])
def test_clipping_on_one_device_is_keras_own(clip):
    """Summing over replicas before clipping (for tf.distribute, tests/test_distribute.py) is a no-op here."""
    # epsilon ~0: ours adds it as torch does (after bias correction, tests/test_training_parity.py), Keras before.
    ours = create_optimizer(1e-2, 10, 0, epsilon=1e-12, **clip)
    assert type(ours) is AdamW
    unclipped = {**ours.get_config(), "clipnorm": None, "global_clipnorm": None}
    optimizers = [ours, keras.optimizers.AdamW.from_config(ours.get_config()),
                  keras.optimizers.AdamW.from_config(unclipped)]
    rng = np.random.default_rng(0)
    steps = [[rng.normal(size=(3, 4)) * scale, rng.normal(size=4) * scale] for scale in (1.0, 5.0, 0.2)]
    results = []
    for optimizer in optimizers:
        variables = [keras.Variable(np.ones((3, 4), "float32")), keras.Variable(np.zeros(4, "float32"))]
        for grads in steps:  # norms above the clip, changing from step to step
            optimizer.apply([keras.ops.convert_to_tensor(g, "float32") for g in grads], variables)
        results.append(np.concatenate([v.numpy().ravel() for v in variables]))
    np.testing.assert_allclose(results[0], results[1], rtol=0, atol=1e-6)
    assert np.abs(results[0] - results[2]).max() > 1e-3  # clipping was active


def test_optimizer_clip_arguments_and_serialization():
    with pytest.raises(ValueError, match="both set"):
        create_optimizer(1e-3, 10, 1, clipnorm=1.0)  # global_clipnorm defaults to 1.0, as in BERT
    layerwise = create_optimizer(1e-3, 10, 1, clipnorm=None, global_clipnorm=1.0, layerwise_lr_decay=0.9,
                                 num_layers=2)
    assert isinstance(layerwise, LayerwiseAdamW) and isinstance(layerwise, AdamW)
    clone = keras.optimizers.deserialize(keras.optimizers.serialize(layerwise))
    assert type(clone) is LayerwiseAdamW and clone.global_clipnorm == 1.0 and clone.clipnorm is None


def test_default_callbacks_write_backups_and_checkpoints(tmp_path):
    model = kbz.BertClassifier(kbz.BertEncoder(**TINY), num_classes=2)
    model.compile(optimizer=create_optimizer(1e-3, 4, 1), metrics=[kbz.metrics.Accuracy()],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    inputs = make_inputs(batch=8, seq=5)
    labels = np.arange(8) % 2
    history = model.fit(inputs, labels, validation_data=(inputs, labels), epochs=2, batch_size=4, verbose=0,
                        callbacks=kbz.training.default_callbacks(tmp_path, monitor="val_accuracy", mode="max"))
    assert (tmp_path / "last.keras").is_file() and (tmp_path / "best.keras").is_file()
    assert any((tmp_path / "tensorboard").rglob("events.out.tfevents.*"))
    assert history.history["learning_rate"][0] > 0


def test_checkpoints_link_best_to_last_and_never_share_a_rewritten_file(tmp_path):
    model = kbz.BertClassifier(kbz.BertEncoder(**TINY), num_classes=2)
    checkpoints = kbz.training.callbacks.Checkpoints(tmp_path, monitor="val_accuracy", mode="max")
    checkpoints.set_model(model)
    weights = []
    for epoch, score in enumerate([0.5, 0.4, 0.6, float("nan")]):
        model.get_layer("logits").set_weights([w + 1 for w in model.get_layer("logits").get_weights()])
        weights.append(model.get_layer("logits").get_weights()[1])
        checkpoints.on_epoch_end(epoch, {"val_accuracy": score})
        best, last = tmp_path / "best.keras", tmp_path / "last.keras"
        expected_best = {0: 0, 1: 0, 2: 2, 3: 2}[epoch]
        for path, index in ((best, expected_best), (last, epoch)):
            saved = keras.saving.load_model(path).get_layer("logits").get_weights()[1]
            np.testing.assert_array_equal(saved, weights[index])
        assert best.samefile(last) == (expected_best == epoch)  # the best epoch's model is written once
    assert checkpoints.best == 0.6 and sorted(p.name for p in tmp_path.iterdir()) == ["best.keras", "last.keras"]
