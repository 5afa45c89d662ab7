"""Checkpoints in and out, checked against transformers' BertModel / BertForPreTraining (torch, CPU)."""

import json

import numpy as np
import pytest
import tensorflow as tf
import torch
import transformers
from conftest import make_inputs
from helpers import tiny_vocabulary
from safetensors.numpy import load_file, save_file

import keras_bert_zoo as kbz
from keras_bert_zoo.checkpoints import CheckpointMismatchError

CONFIGS = {
    "gelu": dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=37, max_position_embeddings=40, type_vocab_size=3),
    "gelu_new": dict(vocab_size=64, hidden_size=24, num_hidden_layers=1, num_attention_heads=3,
                     intermediate_size=48, max_position_embeddings=16, type_vocab_size=2,
                     hidden_act="gelu_new", layer_norm_eps=1e-6),
    "relu": dict(vocab_size=50, hidden_size=16, num_hidden_layers=3, num_attention_heads=1,
                 intermediate_size=20, max_position_embeddings=12, type_vocab_size=2, hidden_act="relu"),
}
TOLERANCE = 1e-4


def hf_model(name, seed, cls=transformers.BertForPreTraining):
    torch.manual_seed(seed)
    model = cls(transformers.BertConfig(**CONFIGS[name])).eval()
    with torch.no_grad():  # move every weight off its special init (LayerNorm ones/zeros, zero biases)
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model


def vocabulary(size):
    return tiny_vocabulary(*(f"tok{i}" for i in range(size - 5)))


def save_hf_reference(model, folder, safe=True):
    if safe:
        model.save_pretrained(folder)
    else:  # transformers 5 writes only safetensors; older versions wrote this pickle
        model.config.save_pretrained(folder)
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
    (folder / "vocab.txt").write_text("\n".join(vocabulary(model.config.vocab_size)) + "\n")
    return folder


def google_reference_names(num_layers):
    """google-research/bert's variable names for each HF parameter, spelled out as modeling.py makes them."""
    names = {
        "bert.embeddings.word_embeddings.weight": "bert/embeddings/word_embeddings",
        "bert.embeddings.token_type_embeddings.weight": "bert/embeddings/token_type_embeddings",
        "bert.embeddings.position_embeddings.weight": "bert/embeddings/position_embeddings",
        "bert.embeddings.LayerNorm.weight": "bert/embeddings/LayerNorm/gamma",
        "bert.embeddings.LayerNorm.bias": "bert/embeddings/LayerNorm/beta",
        "bert.pooler.dense.weight": "bert/pooler/dense/kernel",
        "bert.pooler.dense.bias": "bert/pooler/dense/bias",
        "cls.predictions.transform.dense.weight": "cls/predictions/transform/dense/kernel",
        "cls.predictions.transform.dense.bias": "cls/predictions/transform/dense/bias",
        "cls.predictions.transform.LayerNorm.weight": "cls/predictions/transform/LayerNorm/gamma",
        "cls.predictions.transform.LayerNorm.bias": "cls/predictions/transform/LayerNorm/beta",
        "cls.predictions.bias": "cls/predictions/output_bias",
        "cls.seq_relationship.weight": "cls/seq_relationship/output_weights",
        "cls.seq_relationship.bias": "cls/seq_relationship/output_bias",
    }
    for i in range(num_layers):
        hf, g = f"bert.encoder.layer.{i}", f"bert/encoder/layer_{i}"
        for part in ["attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense", "intermediate.dense", "output.dense"]:
            names[f"{hf}.{part}.weight"] = f"{g}/{part.replace('.', '/')}/kernel"
            names[f"{hf}.{part}.bias"] = f"{g}/{part.replace('.', '/')}/bias"
        for part in ["attention.output.LayerNorm", "output.LayerNorm"]:
            names[f"{hf}.{part}.weight"] = f"{g}/{part.replace('.', '/')}/gamma"
            names[f"{hf}.{part}.bias"] = f"{g}/{part.replace('.', '/')}/beta"
    return names


def write_google_reference(model, folder, with_heads=True):
    """Writes a TF1 checkpoint the way google-research/bert does (tf.compat.v1 Saver, name-based)."""
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    names = google_reference_names(model.config.num_hidden_layers)
    graph = tf.Graph()
    with graph.as_default():
        for hf_name, google_name in names.items():
            if not with_heads and google_name.startswith("cls/"):
                continue
            value = state[hf_name]
            if google_name.endswith("/kernel"):
                value = value.T  # torch Linear is [out, in]; TF dense kernels are [in, out]
            tf.compat.v1.get_variable(google_name, initializer=tf.constant(value))
        tf.compat.v1.train.get_or_create_global_step()
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, str(folder / "bert_model.ckpt"))
    config = {
        k: v for k, v in model.config.to_dict().items() if k in CONFIGS["gelu"] or k in ("hidden_act", "layer_norm_eps")
    }
    (folder / "bert_config.json").write_text(json.dumps(config))
    (folder / "vocab.txt").write_text("\n".join(vocabulary(model.config.vocab_size)) + "\n")
    return folder


def reference_outputs(model, inputs, mask_positions):
    with torch.no_grad():
        out = model(
            input_ids=torch.tensor(inputs["token_ids"], dtype=torch.long),
            token_type_ids=torch.tensor(inputs["segment_ids"], dtype=torch.long),
            attention_mask=torch.tensor(inputs["padding_mask"], dtype=torch.long),
            output_hidden_states=True,
        )
        pooled = model.bert.pooler(out.hidden_states[-1])
    mlm = np.take_along_axis(out.prediction_logits.numpy(), mask_positions[:, :, None], axis=1)
    return {
        "sequence_output": out.hidden_states[-1].numpy(),
        "pooled_output": pooled.numpy(),
        "mlm_logits": mlm,
        "nsp_logits": out.seq_relationship_logits.numpy(),
    }


def assert_matches_reference(hf, pretrainer, seed):
    config = hf.config
    inputs = make_inputs(batch=4, seq=11, vocabulary_size=config.vocab_size, seed=seed,
                         num_segments=config.type_vocab_size)
    positions = np.random.default_rng(seed).integers(0, 5, size=(4, 3)).astype("int32")
    expected = reference_outputs(hf, inputs, positions)
    ours = {**pretrainer.encoder(inputs), **pretrainer({**inputs, "mask_positions": positions})}
    for key, value in expected.items():
        diff = np.abs(np.asarray(ours[key]) - value).max()
        assert diff <= TOLERANCE, f"{key}: max abs diff {diff}"


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("seed", [0, 1])
def test_hf_folder_matches_transformers(name, seed, tmp_path):
    hf = hf_model(name, seed)
    folder = save_hf_reference(hf, tmp_path)
    assert_matches_reference(hf, kbz.load(folder, model_class=kbz.BertPretrainer), seed)
    encoder = kbz.load(folder, model_class="backbone")
    inputs = make_inputs(vocabulary_size=hf.config.vocab_size, seed=seed)
    expected = reference_outputs(hf, inputs, np.zeros((3, 1), "int32"))
    diff = np.abs(np.asarray(encoder(inputs)["sequence_output"]) - expected["sequence_output"]).max()
    assert diff <= TOLERANCE


@pytest.mark.parametrize("name", CONFIGS)
def test_google_checkpoint_matches_transformers(name, tmp_path):
    hf = hf_model(name, seed=3)
    folder = write_google_reference(hf, tmp_path)
    assert_matches_reference(hf, kbz.load(folder, model_class=kbz.BertPretrainer), seed=3)


def test_pytorch_bin_folder_loads(tmp_path):
    hf = hf_model("gelu", seed=4)
    folder = save_hf_reference(hf, tmp_path, safe=False)
    assert (folder / "pytorch_model.bin").is_file()
    assert_matches_reference(hf, kbz.load(folder, model_class=kbz.BertPretrainer), seed=4)


def test_bert_model_folder_loads_into_the_encoder(tmp_path):
    hf = hf_model("gelu", seed=5, cls=transformers.BertModel)
    hf.save_pretrained(tmp_path)
    encoder = kbz.load(tmp_path, model_class="backbone")
    inputs = make_inputs(vocabulary_size=99, seed=5)
    with torch.no_grad():
        out = hf(**{k: torch.tensor(v, dtype=torch.long) for k, v in
                    zip(["input_ids", "token_type_ids", "attention_mask"], inputs.values())})
    ours = encoder(inputs)
    assert np.abs(np.asarray(ours["sequence_output"]) - out.last_hidden_state.numpy()).max() <= TOLERANCE
    assert np.abs(np.asarray(ours["pooled_output"]) - out.pooler_output.numpy()).max() <= TOLERANCE


@pytest.mark.parametrize("name", ["gelu", "gelu_new"])
def test_save_hf_loads_in_transformers(name, tmp_path):
    hf = hf_model(name, seed=6)
    pretrainer = kbz.load(save_hf_reference(hf, tmp_path / "src"), model_class=kbz.BertPretrainer)
    out = kbz.save_hf(pretrainer, tmp_path / "out", vocabulary=tmp_path / "src" / "vocab.txt")
    reloaded = transformers.BertForPreTraining.from_pretrained(out).eval()
    assert_matches_reference(reloaded, pretrainer, seed=6)
    assert reloaded.config.hidden_act == hf.config.hidden_act
    assert (out / "vocab.txt").read_text() == (tmp_path / "src" / "vocab.txt").read_text()

    kbz.save_hf(pretrainer.encoder, tmp_path / "encoder")
    bert = transformers.BertModel.from_pretrained(tmp_path / "encoder").eval()
    for ours, theirs in zip(bert.state_dict().values(), reloaded.bert.state_dict().values()):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_save_google_checkpoint_writes_google_names(tmp_path):
    hf = hf_model("gelu", seed=7)
    reference = write_google_reference(hf, tmp_path / "reference")
    pretrainer = kbz.load(reference, model_class=kbz.BertPretrainer)
    ours = kbz.save_google_checkpoint(pretrainer, tmp_path / "ours", vocabulary=reference / "vocab.txt")
    expected = dict(tf.train.list_variables(str(reference / "bert_model.ckpt")))
    del expected["global_step"]
    written = dict(tf.train.list_variables(str(ours / "bert_model.ckpt")))
    assert written == expected
    reader, ref_reader = (tf.train.load_checkpoint(str(p / "bert_model.ckpt")) for p in (ours, reference))
    for name in expected:
        np.testing.assert_array_equal(reader.get_tensor(name), ref_reader.get_tensor(name))
    assert_matches_reference(hf, kbz.load(ours, model_class=kbz.BertPretrainer), seed=7)

    encoder_only = kbz.save_google_checkpoint(pretrainer.encoder, tmp_path / "encoder")
    names = {n for n, _ in tf.train.list_variables(str(encoder_only / "bert_model.ckpt"))}
    assert names == {n for n in expected if n.startswith("bert/")}


# ---- bad input: every problem named, nothing loaded partially ----

def _edit_safetensors(folder, edit):
    state = load_file(folder / "model.safetensors")
    edit(state)
    save_file(state, folder / "model.safetensors")


def test_missing_unexpected_and_misshapen_tensors_are_each_named(tmp_path):
    folder = save_hf_reference(hf_model("gelu", seed=8), tmp_path)

    def edit(state):
        del state["bert.encoder.layer.1.output.dense.bias"]
        state["bert.encoder.layer.0.attention.self.rotary.weight"] = np.zeros((2, 2), "float32")
        state["cls.seq_relationship.bias"] = np.zeros((3,), "float32")

    _edit_safetensors(folder, edit)
    with pytest.raises(CheckpointMismatchError) as error:
        kbz.load(folder, model_class=kbz.BertPretrainer)
    message = str(error.value)
    assert "missing: bert.encoder.layer.1.output.dense.bias (32,)" in message
    assert "unexpected: bert.encoder.layer.0.attention.self.rotary.weight (2, 2)" in message
    assert "wrong shape: cls.seq_relationship.bias is (3,), the model's config wants (2,)" in message


def test_config_that_disagrees_with_weights_is_refused(tmp_path):
    folder = save_hf_reference(hf_model("gelu", seed=9), tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["num_hidden_layers"] = 1
    config["intermediate_size"] = 40
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointMismatchError) as error:
        kbz.load(folder, model_class="backbone")
    assert str(error.value) == (
        f"{folder / 'config.json'}: does not match {folder / 'model.safetensors'}: intermediate_size=40 but "
        "bert.encoder.layer.0.intermediate.dense.weight says 37; num_hidden_layers=1 but the weights hold 2 layers."
    )


def test_google_checkpoint_errors_use_google_names(tmp_path):
    hf = hf_model("gelu", seed=10)
    folder = write_google_reference(hf, tmp_path)
    config = json.loads((folder / "bert_config.json").read_text())
    (folder / "bert_config.json").write_text(json.dumps({**config, "num_hidden_layers": 3, "type_vocab_size": 2}))
    with pytest.raises(CheckpointMismatchError, match="type_vocab_size=2 but bert/embeddings/token_type_embeddings "
                                                      "says 3; num_hidden_layers=3 but the weights hold 2 layers"):
        kbz.load(folder, model_class="backbone")
    (folder / "bert_config.json").write_text(json.dumps(config))
    reader = tf.train.load_checkpoint(str(folder / "bert_model.ckpt"))
    kept = [name for name in reader.get_variable_to_shape_map() if name != "bert/pooler/dense/bias"]
    tf.raw_ops.SaveV2(prefix=str(folder / "bert_model.ckpt"), tensor_names=kept, shape_and_slices=[""] * len(kept),
                      tensors=[reader.get_tensor(name) for name in kept])
    with pytest.raises(CheckpointMismatchError, match=r"missing: bert/pooler/dense/bias \(32,\)"):
        kbz.load(folder, model_class="backbone")


def test_vocabulary_of_another_size_is_refused(tmp_path):
    folder = save_hf_reference(hf_model("gelu", seed=11), tmp_path)
    (folder / "vocab.txt").write_text("\n".join(vocabulary(120)) + "\n")
    with pytest.raises(ValueError, match="vocab.txt: has 120 tokens but the config says vocab_size=99"):
        kbz.load(folder, model_class="backbone")


def test_vocabulary_lines_split_on_newline_only(tmp_path):
    # U+2028 and \x85 are line breaks to str.splitlines but ordinary characters inside a vocab.txt token.
    folder = save_hf_reference(hf_model("gelu", seed=11), tmp_path / "src")
    tokens = vocabulary(99)
    tokens[10], tokens[11] = "a\u2028b", "c\x85d"
    (folder / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    encoder = kbz.load(folder, model_class="backbone")  # the size check counts 99 tokens
    out = kbz.save_hf(encoder, tmp_path / "out", vocabulary=tokens)
    assert (out / "vocab.txt").read_text(encoding="utf-8").split("\n")[10:12] == ["a\u2028b", "c\x85d"]


def test_encoder_only_checkpoint_says_it_has_no_heads(tmp_path):
    hf = hf_model("gelu", seed=12)
    folder = write_google_reference(hf, tmp_path, with_heads=False)
    kbz.load(folder, model_class="backbone")  # fine as an encoder
    with pytest.raises(CheckpointMismatchError, match="has no pretraining heads"):
        kbz.load(folder, model_class=kbz.BertPretrainer)


def test_untied_decoder_is_refused(tmp_path):
    folder = save_hf_reference(hf_model("gelu", seed=13), tmp_path)

    def edit(state):
        state["cls.predictions.decoder.weight"] = state["bert.embeddings.word_embeddings.weight"] + 1

    _edit_safetensors(folder, edit)
    with pytest.raises(CheckpointMismatchError, match="cls.predictions.decoder.weight differs"):
        kbz.load(folder, model_class=kbz.BertPretrainer)


def test_tied_decoder_copy_and_old_layer_norm_names_are_accepted(tmp_path):
    hf = hf_model("gelu", seed=14)
    folder = save_hf_reference(hf, tmp_path)

    def edit(state):  # what older checkpoints (e.g. bert-base-uncased's pytorch_model.bin) look like
        state["cls.predictions.decoder.weight"] = state["bert.embeddings.word_embeddings.weight"]
        for name in [n for n in state if "LayerNorm" in n]:
            state[name.replace(".weight", ".gamma").replace(".bias", ".beta")] = state.pop(name)

    _edit_safetensors(folder, edit)
    assert_matches_reference(hf, kbz.load(folder, model_class=kbz.BertPretrainer), seed=14)


def test_not_a_checkpoint_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a checkpoint folder"):
        kbz.load(tmp_path, model_class="backbone")


def test_unsupported_config_is_named(tmp_path):
    folder = save_hf_reference(hf_model("gelu", seed=15), tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["position_embedding_type"] = "relative_key"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="position_embedding_type='relative_key' is not supported"):
        kbz.load(folder, model_class="backbone")
