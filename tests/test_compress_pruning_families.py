"""Structured pruning (kbz.compress.prune) beyond BERT: RoBERTa, XLM-RoBERTa, ELECTRA and DistilBERT classifiers
compute what the unpruned ones compute with the same heads and neurons masked, keep their blocks through
.keras, and transformers reads their full-size HF folders as the same model; ALBERT and DeBERTa-v3 refuse."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import hf_difference, padded_inputs

import keras_bert_zoo as kbz
from keras_bert_zoo.compress import prune
from keras_bert_zoo.models.albert import AlbertEncoder
from keras_bert_zoo.models.deberta import DebertaV3Encoder
from keras_bert_zoo.models.distilbert import DistilBertEncoder
from keras_bert_zoo.models.distilbert.backbone import PrunedDistilBertBlock
from keras_bert_zoo.models.electra import ElectraEncoder
from keras_bert_zoo.models.electra.discriminator import ElectraDiscriminator
from keras_bert_zoo.models.pruned_layers import PrunedTransformerEncoder
from keras_bert_zoo.models.roberta import RobertaEncoder, XLMRobertaEncoder

VOCABULARY_SIZE = 60
SHAPE = {"num_layers": 2, "num_heads": 4, "hidden_dim": 32, "intermediate_dim": 64}
HEADS, NEURONS = {0: [1, 3], 1: [0]}, {1: list(range(0, 64, 3))}  # removed
# family -> (encoder class, its options, the HF class save_hf writes, padded_inputs options)
FAMILIES = {
    "roberta": (RobertaEncoder, {}, "RobertaForSequenceClassification", {"pad_id": 1, "segments": False}),
    "xlm-roberta": (XLMRobertaEncoder, {}, "XLMRobertaForSequenceClassification", {"pad_id": 1, "segments": False}),
    "electra": (ElectraEncoder, {"embedding_dim": 16}, "ElectraForSequenceClassification", {}),
    "distilbert": (DistilBertEncoder, {}, "DistilBertForSequenceClassification", {"segments": False}),
}


def perturb(model, seed=0):
    """Every weight moved off its init (LayerNorm ones, zero biases), so each one matters."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign(variable.numpy() + rng.normal(0, 0.05, variable.shape).astype("float32"))
    return model


def masked_copy(model, heads, neurons):
    """`model` (same shape) with the heads' attention-output rows and the neurons' output rows zeroed: a gate of 0."""
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    for variable in copy.weights:
        layer = variable.path.split("/")[0].removeprefix("transformer_layer_")
        for suffix, removed in (("attention_output/kernel", heads), ("feedforward_output_dense/kernel", neurons)):
            if variable.path.endswith(suffix) and layer.isdigit() and int(layer) in removed:
                value = variable.numpy()
                value[removed[int(layer)]] = 0
                variable.assign(value)
    return copy


@pytest.fixture(scope="module", params=list(FAMILIES))
def family(request):
    """(name, classifier, its pruned copy, padded inputs) of one family."""
    encoder_class, options, _, input_options = FAMILIES[request.param]
    keras.utils.set_random_seed(0)
    classifier = perturb(kbz.BertClassifier(encoder_class(VOCABULARY_SIZE, **SHAPE, **options), num_classes=3,
                                            label_names=["a", "b", "c"]))
    inputs = padded_inputs(batch=3, seq=9, vocabulary_size=VOCABULARY_SIZE, **input_options)
    return request.param, classifier, prune(classifier, heads=HEADS, ffn=NEURONS), inputs


def test_pruned_model_equals_the_masked_unpruned_model(family):
    _, classifier, pruned, inputs = family
    encoder = pruned.encoder
    assert (type(encoder), encoder.pruned_heads, encoder.intermediate_dims) == (
        type(classifier.encoder), HEADS, [64, 42])
    assert classifier.count_params() - pruned.count_params() == 3 * (3 * (32 * 8 + 8) + 8 * 32) + 22 * (32 + 1 + 32)
    expected = masked_copy(classifier, HEADS, NEURONS)(inputs)
    np.testing.assert_allclose(pruned(inputs), expected, atol=1e-5)
    assert np.abs(classifier(inputs) - expected).max() > 1e-3  # the masked parts mattered


def test_keras_file_round_trip(family, tmp_path):
    name, _, pruned, inputs = family
    pruned.save(tmp_path / "pruned.keras")
    loaded = keras.saving.load_model(tmp_path / "pruned.keras")
    assert loaded.get_config() == pruned.get_config() and loaded.encoder.pruned_heads == HEADS
    pruned_block = PrunedDistilBertBlock if name == "distilbert" else PrunedTransformerEncoder
    assert [type(block) for block in loaded.encoder.transformer_layers] == [pruned_block, pruned_block]
    np.testing.assert_array_equal(loaded(inputs), pruned(inputs))


def test_hugging_face_folder_loads_in_transformers(family, tmp_path):
    import transformers

    name, _, pruned, inputs = family
    folder = kbz.save_hf(pruned, tmp_path / "hf")
    theirs = transformers.AutoModelForSequenceClassification.from_pretrained(
        folder, attn_implementation="eager").eval()
    assert type(theirs).__name__ == FAMILIES[name][2]
    assert (theirs.config.num_attention_heads, theirs.config.intermediate_size if name != "distilbert"
            else theirs.config.hidden_dim) == (4, 64)
    assert hf_difference(pruned, theirs, inputs) <= 1e-5
    state = theirs.state_dict()
    output = next(state[key] for key in state if key.endswith(("layer.0.attention.output.dense.weight",
                                                                "layer.0.attention.out_lin.weight"))).numpy()
    assert not output[:, 8:16].any() and not output[:, 24:32].any() and output[:, :8].all()  # heads 1 and 3


def test_an_electra_discriminator_prunes_its_encoder_and_keeps_the_embedding_projection():
    keras.utils.set_random_seed(1)
    discriminator = perturb(ElectraDiscriminator(ElectraEncoder(VOCABULARY_SIZE, **SHAPE, embedding_dim=16)))
    inputs = padded_inputs(batch=2, seq=7, vocabulary_size=VOCABULARY_SIZE)
    pruned = prune(discriminator, heads={1: [2]}, ffn={0: [0, 5]})
    expected = masked_copy(discriminator, {1: [2]}, {0: [0, 5]})(inputs)["rtd_logits"]
    np.testing.assert_allclose(pruned(inputs)["rtd_logits"], expected, atol=1e-5)
    original, kept = discriminator.encoder.embeddings_project, pruned.encoder.embeddings_project
    assert tuple(kept.kernel.shape) == (16, 32) and pruned.encoder.embedding_dim == 16
    np.testing.assert_array_equal(kept.kernel.numpy(), original.kernel.numpy())


def test_families_with_shared_or_own_layers_refuse_and_say_why():
    albert = AlbertEncoder(VOCABULARY_SIZE, 2, 2, 16, 32, embedding_dim=8)
    with pytest.raises(ValueError, match="AlbertEncoder cannot be pruned: ALBERT shares one layer's weights"):
        prune(kbz.BertClassifier(albert, num_classes=2), heads={0: [0]})
    with pytest.raises(ValueError, match="DebertaV3Encoder cannot be pruned: DeBERTa-v3's layers use their own"):
        prune(DebertaV3Encoder(VOCABULARY_SIZE, 1, 2, 16, 32), ffn=0.5, dataset=tf.data.Dataset.range(1))
