"""BertEncoderDecoder (BERT2BERT): teacher-forced logits equal transformers' `EncoderDecoderModel` (padded
batches, shared or not), its folders load with `kbz.load` and save back with `kbz.save_hf`, the warm start
takes every weight but cross-attention from one encoder, and the model keeps the task contract."""

import keras
import numpy as np
import pytest
import torch
import transformers
from helpers import check_task, perturbed_hf_model

import keras_bert_zoo as kbz
from keras_bert_zoo.errors import CheckpointError, CheckpointMismatchError

BERT = dict(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=40)
TOLERANCE = 1e-5


def hf_encoder_decoder(tie=False, seed=0):
    """A perturbed transformers EncoderDecoderModel of two tiny BERTs (eager attention); with `tie`, its decoder's
    embeddings, self-attention and feed-forward weights are copies of the encoder's, as BERTShare ties them
    (transformers 5 keeps `tie_encoder_decoder` in the config but ties nothing itself)."""
    encoder = transformers.BertConfig(**BERT, attn_implementation="eager")
    decoder = transformers.BertConfig(**BERT, is_decoder=True, add_cross_attention=True, attn_implementation="eager")
    config = transformers.EncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder, tie_encoder_decoder=tie)
    model = perturbed_hf_model(transformers.EncoderDecoderModel, config, seed)
    if tie:
        state = model.state_dict()
        with torch.no_grad():
            for name, value in model.decoder.bert.state_dict().items():
                if f"encoder.{name}" in state and "crossattention" not in name:
                    value.copy_(state[f"encoder.{name}"])
    return model


def seq2seq_inputs(batch=3, source=9, target=7, seed=0):
    """Right-padded encoder and decoder batches, a different amount of padding per row (row 0 unpadded)."""
    rng = np.random.default_rng(seed)
    inputs = {}
    for side, length in (("encoder", source), ("decoder", target)):
        lengths = length - np.arange(batch) * (length // batch)
        mask = (np.arange(length)[None, :] < lengths[:, None]).astype("int32")
        inputs[f"{side}_token_ids"] = (rng.integers(1, BERT["vocab_size"], (batch, length)) * mask).astype("int32")
        inputs[f"{side}_padding_mask"] = mask
    return inputs


HF_NAMES = {"encoder_token_ids": "input_ids", "encoder_padding_mask": "attention_mask",
            "decoder_token_ids": "decoder_input_ids", "decoder_padding_mask": "decoder_attention_mask"}


def torch_seq2seq(inputs):
    return {HF_NAMES[name]: torch.tensor(value, dtype=torch.long) for name, value in inputs.items()}


def hf_logits(model, inputs):
    with torch.no_grad():
        return model(**torch_seq2seq(inputs)).logits.numpy()


def logits_difference(ours, theirs, inputs):
    """Max abs difference of the logits at the decoder's real tokens."""
    real = inputs["decoder_padding_mask"].astype(bool)
    return np.abs(np.asarray(ours(inputs)["logits"]) - hf_logits(theirs, inputs))[real].max()


@pytest.fixture(scope="module")
def hf_folders(tmp_path_factory):
    """{tie: (transformers model, its saved folder)}."""
    folders = {}
    for tie in (False, True):
        model = hf_encoder_decoder(tie)
        folder = tmp_path_factory.mktemp(f"hf_tie_{tie}")
        model.save_pretrained(folder)
        folders[tie] = model, folder
    return folders


@pytest.mark.parametrize("tie", [False, True])
def test_folder_loads_with_transformers_logits_and_saves_back(hf_folders, tie, tmp_path):
    theirs, folder = hf_folders[tie]
    ours = kbz.load(folder)
    assert type(ours) is kbz.BertEncoderDecoder and ours.share_encoder_decoder is tie
    inputs = seq2seq_inputs()
    assert logits_difference(ours, theirs, inputs) <= TOLERANCE
    if tie:  # one set of weights: the decoder's embeddings and blocks are the encoder's variables
        assert ours.decoder_token_embedding is ours.encoder.token_embedding
        assert ours.decoder_layers[1]._self_attention_layer._query_dense.kernel is \
            ours.encoder.transformer_layers[1]._self_attention_layer._query_dense.kernel
        assert len(ours.weights) < len(kbz.BertEncoderDecoder(ours.encoder).weights)

    kbz.save_hf(ours, tmp_path / "back")
    again = transformers.EncoderDecoderModel.from_pretrained(tmp_path / "back").eval()
    assert again.config.tie_encoder_decoder is tie
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[key].numpy(), value.numpy(), err_msg=key)
    assert kbz.load(tmp_path / "back").share_encoder_decoder is tie


def test_backbone_of_a_folder_is_its_encoder(hf_folders):
    theirs, folder = hf_folders[False]
    encoder = kbz.load(folder, model_class="backbone")
    assert type(encoder) is kbz.BertEncoder
    np.testing.assert_array_equal(encoder.token_embedding.embeddings.numpy(),
                                  theirs.encoder.embeddings.word_embeddings.weight.detach().numpy())


def test_tied_folder_whose_decoder_differs_from_its_encoder_is_refused(tmp_path):
    theirs = hf_encoder_decoder(tie=False)
    theirs.config.tie_encoder_decoder = True
    theirs.save_pretrained(tmp_path)
    with pytest.raises(CheckpointMismatchError, match="decoder.bert.embeddings.word_embeddings.weight differs"):
        kbz.load(tmp_path)


@pytest.mark.parametrize("change, message", [
    (("decoder", "hidden_size", 64), "the decoder's hidden_size is 64, the encoder's 32"),
    (("decoder", "add_cross_attention", False), "add_cross_attention=False"),
    (("encoder", "model_type", "roberta"), "the encoder is a 'roberta' model"),
])
def test_a_bad_config_is_named_with_its_file(hf_folders, tmp_path, change, message):
    import json
    import shutil

    shutil.copytree(hf_folders[False][1], tmp_path, dirs_exist_ok=True)
    config = json.loads((tmp_path / "config.json").read_text())
    part, key, value = change
    config[part][key] = value
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=f"config.json.*{message}"):
        kbz.load(tmp_path)


@pytest.mark.parametrize("share", [False, True])
def test_warm_start_takes_all_but_cross_attention_from_the_encoder(hf_folders, tmp_path, share, caplog):
    """BERT2BERT from a BertForMaskedLM folder: encoder and decoder from its encoder, the LM head from its
    masked-LM head, cross-attention random (and logged); equal to transformers' warm start with the same weights."""
    mlm = perturbed_hf_model(transformers.BertForMaskedLM, transformers.BertConfig(**BERT))
    mlm.save_pretrained(tmp_path / "mlm")
    model = kbz.BertEncoderDecoder.from_encoder(kbz.load(tmp_path / "mlm"), share_encoder_decoder=share)
    assert "random weights for the cross-attention of 2 decoder layers" in caplog.text
    assert "LM head" not in caplog.text  # it came from the checkpoint
    theirs = hf_encoder_decoder(tie=True)  # cross-attention from here, the rest from the MLM checkpoint
    bert = {f"bert.{k}": v for k, v in mlm.bert.state_dict().items()}
    with torch.no_grad():
        for name, value in theirs.state_dict().items():
            source = name.replace("encoder.", "bert.", 1) if name.startswith("encoder.") else (
                name.replace("decoder.", "", 1) if "crossattention" not in name else None)
            if source in bert or (source or "").startswith("cls."):
                value.copy_(bert.get(source, mlm.state_dict().get(source)))
        for i, layer in enumerate(model.decoder_layers):  # our random cross-attention into theirs
            cross = theirs.decoder.bert.encoder.layer[i].crossattention
            for part, ours_name in (("query", "query"), ("key", "key"), ("value", "value")):
                kernel = getattr(layer._cross_attention_layer, f"_{ours_name}_dense")
                getattr(cross.self, part).weight.copy_(torch.tensor(kernel.kernel.numpy().reshape(32, 32).T))
                getattr(cross.self, part).bias.copy_(torch.tensor(kernel.bias.numpy().reshape(32)))
            out = layer._cross_attention_layer._output_dense
            cross.output.dense.weight.copy_(torch.tensor(out.kernel.numpy().reshape(32, 32).T))
            cross.output.dense.bias.copy_(torch.tensor(out.bias.numpy()))
            norm = layer._cross_attention_layer_norm
            cross.output.LayerNorm.weight.copy_(torch.tensor(norm.gamma.numpy()))
            cross.output.LayerNorm.bias.copy_(torch.tensor(norm.beta.numpy()))
    assert logits_difference(model, theirs, seq2seq_inputs()) <= TOLERANCE


def test_task_contract_keras_file_and_mixed_precision():
    encoder = kbz.BertEncoder(50, 2, 2, 32, 64, max_sequence_length=40)
    for share in (False, True):
        model = kbz.BertEncoderDecoder(encoder, share_encoder_decoder=share)
        outputs = check_task(model, seq2seq_inputs())
        assert outputs["logits"].shape == (3, 7, 50)
    with pytest.raises(TypeError, match="takes a kbz.BertEncoder, not a"):
        kbz.BertEncoderDecoder(kbz.DistilBertEncoder(50, 2, 2, 32, 64))


def test_shared_model_trains_one_set_of_weights():
    model = kbz.BertEncoderDecoder(kbz.BertEncoder(50, 1, 2, 32, 64, max_sequence_length=40),
                                   share_encoder_decoder=True)
    ids = [id(variable) for variable in model.trainable_variables]
    assert len(ids) == len(set(ids))
    inputs = seq2seq_inputs()
    labels = np.roll(inputs["decoder_token_ids"], -1, axis=1)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)})
    losses = model.fit(inputs, {"logits": labels}, epochs=3, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    encoder_block, decoder_block = model.encoder.transformer_layers[0], model.decoder_layers[0]
    assert decoder_block._feedforward_output_dense.kernel is encoder_block._feedforward_output_dense.kernel
