"""The ELECTRA family: `ElectraEncoder` and every Hugging Face Electra class load with `kbz.load` and compute what
transformers computes (tiny random models, perturbed weights, embedding_size != hidden_size, right- and
left-padded batches), save back with `kbz.save_hf` to folders transformers loads with the same tensors; and
`ElectraPretrainer`, the joint generator + discriminator pretraining step."""

import dataclasses
import json

import keras
import numpy as np
import pytest
import torch
import transformers
from helpers import check_layer, check_task, hf_difference, padded_inputs, perturbed_hf_model, torch_inputs

import keras_bert_zoo as kbz
from keras_bert_zoo import preset_weights, presets
from keras_bert_zoo.errors import CheckpointError, CheckpointMismatchError
from keras_bert_zoo.models.electra import ElectraEncoder
from keras_bert_zoo.models.electra.discriminator import ElectraDiscriminator
from keras_bert_zoo.models.electra.hf_config import config_from_hf
from keras_bert_zoo.models.electra.pretrainer import ElectraPretrainer, corrupt

CONFIG = dict(vocab_size=99, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
              intermediate_size=37, max_position_embeddings=40, attn_implementation="eager")
TOLERANCE = 1e-5
LABELS = ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"]
CLASSES = {  # HF class -> (our class, extra config)
    "ElectraModel": (ElectraEncoder, {}),
    "ElectraForPreTraining": (ElectraDiscriminator, {}),
    "ElectraForMaskedLM": (kbz.BertPretrainer, {}),
    "ElectraForSequenceClassification": (kbz.BertClassifier, dict(id2label={0: "neg", 1: "neutral", 2: "pos"})),
    "ElectraForTokenClassification": (kbz.BertTokenClassifier, dict(id2label=dict(enumerate(LABELS)))),
    "ElectraForQuestionAnswering": (kbz.BertSpanQA, {}),
    "ElectraForMultipleChoice": (kbz.BertMultipleChoice, {}),
}


def hf_electra(name, seed=0, **config):
    """A transformers Electra class `name`, eager attention, every tensor moved off its init values."""
    return perturbed_hf_model(getattr(transformers, name), transformers.ElectraConfig(**{**CONFIG, **config}), seed)


def padded_batches():
    """A right-padded batch and the same rows left-padded, with token types."""
    return [padded_inputs(vocabulary_size=CONFIG["vocab_size"], left=left) for left in (False, True)]


def difference(ours, theirs, inputs):
    """Max abs difference of every output on real tokens: `hf_difference`, plus the two classes it does not
    know (the pooler-less `ElectraModel` and the discriminator's one logit per token)."""
    kind = type(theirs).__name__
    if kind not in ("ElectraModel", "ElectraForPreTraining"):
        return hf_difference(ours, theirs, inputs)
    with torch.no_grad():
        out = theirs(**torch_inputs(inputs))
    reference = out.last_hidden_state if kind == "ElectraModel" else out.logits
    mine = ours(inputs)["sequence_output" if kind == "ElectraModel" else "rtd_logits"]
    return np.abs(np.asarray(mine) - reference.numpy())[inputs["padding_mask"].astype(bool)].max()


@pytest.mark.parametrize("name", CLASSES)
def test_electra_checkpoint_loads_as_its_class_equals_transformers_and_saves_back(name, tmp_path):
    our_class, config = CLASSES[name]
    theirs = hf_electra(name, **config)
    theirs.save_pretrained(tmp_path / "hf")
    ours = kbz.load(tmp_path / "hf")
    assert type(ours) is our_class and type(getattr(ours, "encoder", ours)) is ElectraEncoder
    assert getattr(ours, "encoder", ours).embedding_dim == 16
    for inputs in padded_batches():
        assert difference(ours, theirs, inputs) <= TOLERANCE
    if "id2label" in config:
        assert ours.label_names == list(config["id2label"].values())
    if name.endswith(("SequenceClassification", "MultipleChoice")):
        assert ours.head == "dense_gelu"

    kbz.save_hf(ours, tmp_path / "back")
    saved = json.loads((tmp_path / "back" / "config.json").read_text())
    assert (saved["model_type"], saved["architectures"], saved["embedding_size"]) == ("electra", [name], 16)
    again = getattr(transformers, name).from_pretrained(tmp_path / "back", attn_implementation="eager")
    assert again.config.id2label == theirs.config.id2label
    mine, reference = again.state_dict(), theirs.state_dict()
    assert sorted(mine) == sorted(reference)
    for key, value in reference.items():
        np.testing.assert_array_equal(mine[key].numpy(), value.numpy(), err_msg=key)


def test_generator_shape_and_an_encoder_without_projection(tmp_path):
    """A generator narrower than its embeddings (ELECTRA-Base's: 768 -> 256, here 32 -> 16), and a model
    whose embeddings are as wide as its blocks (no embeddings_project, as ELECTRA-Large)."""
    generator = hf_electra("ElectraForMaskedLM", embedding_size=32, hidden_size=16, intermediate_size=24,
                           hidden_act="gelu_new")  # the generator head's GELU stays exact
    generator.save_pretrained(tmp_path / "generator")
    ours = kbz.load(tmp_path / "generator")
    assert ours.encoder.activation == "gelu_approximate"
    assert ours.mlm_head.token_embedding is ours.encoder.token_embedding
    assert max(difference(ours, generator, inputs) for inputs in padded_batches()) <= TOLERANCE

    square = hf_electra("ElectraModel", embedding_size=32)
    square.save_pretrained(tmp_path / "square")
    ours = kbz.load(tmp_path / "square")
    assert ours.embeddings_project is None and not any("project" in w.path for w in ours.weights)
    assert difference(ours, square, padded_batches()[1]) <= TOLERANCE


def test_exact_gelu_is_what_transformers_computes_not_keras_hubs_tanh_approximation(tmp_path):
    theirs = hf_electra("ElectraModel", seed=3)
    with torch.no_grad():  # feed-forward inputs of a trained model's size, where the two GELUs part
        for layer in theirs.encoder.layer:
            layer.intermediate.dense.weight.mul_(10)
    theirs.save_pretrained(tmp_path)
    exact = kbz.load(tmp_path)
    approximate = kbz.load(tmp_path, activation="gelu_approximate")  # keras-hub's ElectraBackbone activation
    inputs = padded_batches()[0]
    assert exact.activation == "gelu" and difference(exact, theirs, inputs) <= TOLERANCE
    assert difference(approximate, theirs, inputs) > 10 * TOLERANCE


def test_encoder_config_keras_file_and_mixed_precision():
    encoder = ElectraEncoder(50, 2, 2, 16, 24, embedding_dim=8, max_sequence_length=12, dropout=0.2)
    inputs = padded_inputs(batch=2, seq=5, vocabulary_size=50)
    full = check_layer(encoder, inputs, {"sequence_output": (2, 5, 16)})["sequence_output"]
    for policy, tolerance in (("mixed_float16", 0.05), ("mixed_bfloat16", 0.2)):
        half = ElectraEncoder.from_config({**encoder.get_config(), "dtype": policy})
        half.set_weights(encoder.get_weights())
        assert all(w.dtype == "float32" for w in half.weights)  # variables stay float32
        out = half(inputs)["sequence_output"]
        assert out.dtype == policy.split("_")[1]
        np.testing.assert_allclose(np.asarray(out, "float32"), np.asarray(full), atol=tolerance)
    assert encoder.get_config()["embedding_dim"] == 8 and ElectraEncoder(50, 1, 2, 16, 24).embedding_dim == 16


def test_heads_on_an_electra_encoder_keep_the_task_contract():
    """Config and .keras round trips, float32 logits under mixed precision; NSP needs a pooler ELECTRA lacks."""
    encoder = ElectraEncoder(50, 1, 2, 16, 24, embedding_dim=8)
    inputs = padded_inputs(batch=2, seq=4, vocabulary_size=50)
    assert check_task(kbz.BertClassifier(encoder, num_classes=3), inputs).shape == (2, 3)
    choices = {key: np.stack([value, value[::-1]], axis=1) for key, value in inputs.items()}
    assert check_task(kbz.BertMultipleChoice(encoder, num_choices=None), choices).shape == (2, 2)
    assert check_task(ElectraDiscriminator(encoder), inputs)["rtd_logits"].shape == (2, 4)
    mlm = check_task(kbz.BertPretrainer(encoder, next_sentence=False),
                     {**inputs, "mask_positions": np.array([[1, 2], [0, 1]], "int32")})
    assert mlm["mlm_logits"].shape == (2, 2, 50)
    with pytest.raises(ValueError, match="next_sentence=True needs a pooled_output; ElectraEncoder has none"):
        kbz.BertPretrainer(encoder)


@pytest.mark.parametrize("change, message", [
    ({"embedding_size": 0}, r"config\.json: embedding_size=0 is not a positive integer"),
    ({"embedding_size": 24}, r"config\.json: does not match .*embedding_size=24 but electra\.embeddings\.word_"
                             r"embeddings\.weight says 16"),
    ({"hidden_size": 64}, r"config\.json: does not match .*hidden_size=64 but electra\.encoder\.layer\.0\.attention"),
    ({"num_hidden_layers": 3}, r"config\.json: does not match .*num_hidden_layers=3 but the weights hold 2 layers"),
    ({"summary_activation": "tanh"}, r"config\.json: summary_activation='tanh'; this package holds ELECTRA's"),
])
def test_a_bad_config_is_named_with_its_file_and_key(tmp_path, change, message):
    hf_electra("ElectraForMultipleChoice").save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, **change}))
    with pytest.raises(CheckpointError, match=message) as error:
        kbz.load(tmp_path)
    assert isinstance(error.value, CheckpointMismatchError) == ("does not match" in message)


def test_old_generator_files_with_the_tied_decoder_and_no_architectures_load(tmp_path):
    """Older files store generator_lm_head.weight (the word embeddings again) and position_ids, and may name
    no class; a decoder that is not the embeddings is an error naming both."""
    from safetensors.numpy import load_file, save_file

    theirs = hf_electra("ElectraForMaskedLM")
    theirs.save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    config = json.loads((tmp_path / "config.json").read_text())
    del config["architectures"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    words = state["electra.embeddings.word_embeddings.weight"]
    extra = {"generator_lm_head.weight": words, "electra.embeddings.position_ids": np.arange(40)[None]}
    save_file({**state, **extra}, tmp_path / "model.safetensors", metadata={"format": "pt"})
    ours = kbz.load(tmp_path)
    assert type(ours) is kbz.BertPretrainer and ours.next_sentence is False
    assert difference(ours, theirs, padded_batches()[0]) <= TOLERANCE
    save_file({**state, "generator_lm_head.weight": words + 1}, tmp_path / "model.safetensors",
              metadata={"format": "pt"})
    with pytest.raises(CheckpointMismatchError,
                       match="generator_lm_head.weight differs from electra.embeddings.word_embeddings.weight"):
        kbz.load(tmp_path)


def test_convert_cli_takes_an_electra_classifier_through_keras_and_back(tmp_path, capsys):
    from keras_bert_zoo.cli import main

    theirs = hf_electra("ElectraForSequenceClassification", id2label={0: "neg", 1: "pos"})
    theirs.save_pretrained(tmp_path / "hf")
    assert main(["convert", str(tmp_path / "hf"), str(tmp_path / "m.keras"), "--to", "keras"]) == 0
    assert main(["convert", str(tmp_path / "m.keras"), str(tmp_path / "back"), "--to", "hf"]) == 0
    assert "wrote BertClassifier" in capsys.readouterr().out
    again = transformers.ElectraForSequenceClassification.from_pretrained(tmp_path / "back")
    assert again.config.id2label == {0: "neg", 1: "pos"}
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[key].numpy(), value.numpy(), err_msg=key)
    with pytest.raises(SystemExit, match="error: A Google checkpoint holds BERT models only; this model is 'electra'"):
        main(["convert", str(tmp_path / "hf"), str(tmp_path / "google"), "--to", "google"])


# The sizes of the public google/electra-* config.json files.
PUBLIC = {
    "electra_small_discriminator": dict(embedding_size=128, hidden_size=256, num_hidden_layers=12,
                                        num_attention_heads=4, intermediate_size=1024),
    "electra_base_discriminator": dict(embedding_size=768, hidden_size=768, num_hidden_layers=12,
                                       num_attention_heads=12, intermediate_size=3072),
    "electra_large_discriminator": dict(embedding_size=1024, hidden_size=1024, num_hidden_layers=24,
                                        num_attention_heads=16, intermediate_size=4096),
    "electra_small_generator": dict(embedding_size=128, hidden_size=256, num_hidden_layers=12,
                                    num_attention_heads=4, intermediate_size=1024),
    "electra_base_generator": dict(embedding_size=768, hidden_size=256, num_hidden_layers=12,
                                   num_attention_heads=4, intermediate_size=1024),
    "electra_large_generator": dict(embedding_size=1024, hidden_size=256, num_hidden_layers=24,
                                    num_attention_heads=4, intermediate_size=1024),
}


@pytest.mark.parametrize("name", PUBLIC)
def test_presets_are_the_public_architectures_and_name_their_weights(name):
    public = transformers.ElectraConfig(vocab_size=30522, **PUBLIC[name]).to_dict()
    preset = presets.get(name)
    assert preset.model_type == "electra" and preset.lowercase
    assert preset.config == {**config_from_hf(public, "config.json"), "num_segments": 2}
    with pytest.raises(preset_weights.MissingWeightsError, match=f"google/{name.replace('_', '-')}"):
        kbz.load(name)


def test_a_preset_loads_the_weights_folder_a_user_names(tmp_path, monkeypatch):
    theirs = hf_electra("ElectraForPreTraining")
    theirs.save_pretrained(tmp_path / "hf")
    (tmp_path / "hf" / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] +
                                                         [f"t{i}" for i in range(5, 99)]) + "\n")
    with pytest.raises(preset_weights.PresetWeightsError,
                       match="does not hold preset 'electra_small_discriminator': vocabulary_size=99"):
        kbz.load("electra_small_discriminator", weights=tmp_path / "hf")
    tiny = config_from_hf(theirs.config.to_dict(), "config.json")
    monkeypatch.setitem(presets._PRESETS, "electra_small_discriminator",  # the entry at a size the test can build
                        dataclasses.replace(presets.get("electra_small_discriminator"), config=tiny))
    encoder = kbz.load("electra_small_discriminator", weights=tmp_path / "hf")
    assert type(encoder) is ElectraEncoder
    assert difference(encoder, theirs.electra, padded_batches()[1]) <= TOLERANCE
    assert type(kbz.load("electra_small_discriminator", weights=None)) is ElectraEncoder


# ------------------------------------------------------------------------------------ joint pretraining


def masked_batch(seed=0, batch=8, seq=10, vocabulary_size=50):
    """What `pretraining_dataset(..., as_features=True)` gives: masked ids (4 = [MASK]) and the masking."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocabulary_size, (batch, seq)).astype("int32")
    padding_mask = (np.arange(seq)[None] < seq - np.arange(batch)[:, None] % 3).astype("int32")
    positions = np.sort(np.stack([rng.choice(np.arange(1, seq - 2), 2, replace=False) for _ in range(batch)]), 1)
    masked = ids.copy()
    np.put_along_axis(masked, positions, 4, axis=1)
    return {"token_ids": masked * padding_mask, "segment_ids": 0 * ids, "padding_mask": padding_mask,
            "mask_positions": positions.astype("int32"), "mask_ids": np.take_along_axis(ids, positions, 1),
            "mask_weights": np.array([[1.0, 1.0]] * (batch - 1) + [[1.0, 0.0]], "float32")}


def test_corruption_puts_samples_at_masked_positions_and_labels_real_replacements():
    token_ids = np.array([[2, 4, 7, 4, 3, 0], [2, 9, 4, 3, 0, 0]], "int32")
    padding_mask = np.array([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0]], "int32")
    positions, originals = np.array([[1, 3], [2, 0]]), np.array([[6, 9], [5, 0]])
    sampled, weights = np.array([[6, 8], [11, 12]]), np.array([[1.0, 1.0], [1.0, 0.0]])
    corrupted, labels = corrupt(token_ids, padding_mask, positions, originals, sampled, weights)
    assert np.asarray(corrupted).tolist() == [[2, 6, 7, 8, 3, 0], [2, 9, 11, 3, 0, 0]]  # slot of weight 0 unused
    assert np.asarray(labels).tolist() == [[0, 0, 0, 1, 0, 0], [0, 0, 1, 0, 0, 0]]  # 6 == 6: not replaced


def test_joint_model_shares_embeddings_samples_from_the_generator_and_is_seeded(tmp_path):
    keras.utils.set_random_seed(0)
    model = ElectraPretrainer(ElectraEncoder(50, 1, 2, 16, 32, embedding_dim=8), generator_hidden_dim=8, seed=7)
    shared = model.generator.encoder.embeddings
    assert shared is model.discriminator.encoder.embeddings and model.generator.encoder.hidden_dim == 8
    assert len(model.trainable_weights) == len(model.generator.weights) + len(model.discriminator.weights) - 5
    batch = masked_batch()
    first, again = model(batch)["sampled_ids"], ElectraPretrainer.from_config(model.get_config())
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(np.asarray(again(batch)["sampled_ids"]), np.asarray(first))  # same seed, draws

    # A generator sure of token 42 samples it everywhere; the labels mark it where the text was not 42.
    bias = model.generator.mlm_head._bias
    bias.assign(np.where(np.arange(50) == 42, 1e4, 0.0).astype("float32"))
    out = model(batch)
    assert (np.asarray(out["sampled_ids"]) == 42).all()
    expected = np.zeros_like(batch["token_ids"])
    for row, (positions, originals, weights) in enumerate(zip(batch["mask_positions"], batch["mask_ids"],
                                                                batch["mask_weights"])):
        for position, original, weight in zip(positions, originals, weights):
            expected[row, position] = int(weight > 0 and original != 42)
    np.testing.assert_array_equal(np.asarray(out["rtd_labels"]), expected)


def test_fit_lowers_both_losses_and_the_keras_file_keeps_the_sharing(tmp_path):
    keras.utils.set_random_seed(0)
    model = ElectraPretrainer(ElectraEncoder(50, 1, 2, 16, 32, embedding_dim=8), generator_hidden_dim=8, seed=1)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), run_eagerly=True)  # a traced step: the slow recipe test's
    batch = masked_batch(batch=32)
    history = model.fit(batch, batch_size=16, epochs=3, verbose=0).history
    assert history["mlm_loss"][-1] < history["mlm_loss"][0] and history["rtd_loss"][-1] < history["rtd_loss"][0]
    np.testing.assert_allclose(history["loss"], np.add(history["mlm_loss"], np.multiply(50, history["rtd_loss"])),
                               rtol=1e-5)
    model.save(tmp_path / "electra.keras")
    loaded = keras.saving.load_model(tmp_path / "electra.keras")
    assert loaded.generator.encoder.embeddings is loaded.discriminator.encoder.embeddings
    inputs = {key: batch[key] for key in ("token_ids", "segment_ids", "padding_mask")}
    np.testing.assert_array_equal(np.asarray(loaded.discriminator(inputs)["rtd_logits"]),
                                  np.asarray(model.discriminator(inputs)["rtd_logits"]))


@pytest.mark.slow  # end to end: pretraining, then classify.py fine-tunes the discriminator it wrote
def test_pretrain_electra_recipe_lowers_both_losses_and_classify_fine_tunes_its_discriminator(tmp_path, run_recipe):
    import re
    import shlex
    from pathlib import Path

    root = Path(__file__).parents[1]
    run = tmp_path / "run"
    lines = run_recipe(root / "recipes" / "pretrain_electra.py", "--max-train-examples", 96, "--batch-size", 16,
                       "--epochs", 3, "--sequence-length", 32, "--max-predictions-per-seq", 5, "--dupe-factor", 1,
                       "--model-dir", run, "--export-dir", tmp_path / "export")
    losses = np.array([[float(value) for value in re.fullmatch(
        r"epoch \d: generator MLM loss (\d+\.\d{4}), discriminator RTD loss (\d+\.\d{4})", line).groups()]
        for line in lines if line.startswith("epoch ") and "generator" in line])
    assert losses.shape == (3, 2) and (losses[-1] < losses[0]).all(), losses
    assert re.fullmatch(r"held-out: generator MLM loss \d+\.\d{4}, discriminator RTD loss \d+\.\d{4}", lines[-1])
    assert (tmp_path / "export" / "1" / "saved_model.pb").is_file()

    # The folders are transformers' classes with our weights: equal outputs.
    discriminator = transformers.ElectraForPreTraining.from_pretrained(run / "discriminator",
                                                                       attn_implementation="eager")
    inputs = padded_inputs(vocabulary_size=30522)
    assert difference(kbz.load(run / "discriminator"), discriminator, inputs) <= TOLERANCE
    generator = transformers.ElectraForMaskedLM.from_pretrained(run / "generator", attn_implementation="eager")
    assert difference(kbz.load(run / "generator"), generator, inputs) <= TOLERANCE
    assert generator.config.embedding_size == discriminator.config.embedding_size == 128
    assert (generator.config.hidden_size, discriminator.config.hidden_size) == (64, 128)
    np.testing.assert_array_equal(generator.electra.embeddings.word_embeddings.weight.detach().numpy(),
                                  discriminator.electra.embeddings.word_embeddings.weight.detach().numpy())

    command = next(line for line in lines if line.startswith("fine-tune it: ")).removeprefix("fine-tune it: ")
    _python, recipe, *argv = shlex.split(command)
    assert recipe == "recipes/classify.py" and argv == ["--checkpoint", str(run / "discriminator")]
    dev = tmp_path / "dev.tsv"
    dev.write_text("".join((root / "recipes/data/sst2/dev.tsv").read_text(encoding="utf-8").splitlines(True)[:33]))
    lines = run_recipe(root / recipe, *argv, "--max-train-examples", 32, "--batch-size", 16, "--sequence-length", 32,
                       "--dev-file", dev, "--model-dir", tmp_path / "classify", "--export-dir", tmp_path / "sst2")
    assert re.fullmatch(r"dev accuracy: \d\.\d{4}", lines[-1])
    assert type(keras.saving.load_model(tmp_path / "classify" / "last.keras").encoder) is ElectraEncoder
