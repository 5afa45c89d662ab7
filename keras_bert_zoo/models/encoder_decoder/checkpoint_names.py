"""Hugging Face `EncoderDecoderModel` (BERT encoder + `BertLMHeadModel` decoder) weight names <-> our variables.

The encoder's names are `BertModel`'s under `encoder.`; the decoder's are `BertLMHeadModel`'s: BERT's under
`decoder.bert.` (no pooler) plus each layer's `crossattention` and the LM head `decoder.cls.predictions`. With
`share_encoder_decoder` the decoder's embeddings, self-attention and feed-forward weights are the encoder's:
a checkpoint stores them twice (transformers 5 writes both), and they must be equal.
"""

import types

from keras_bert_zoo.models.bert.checkpoint_names import dense, layer_norm
from keras_bert_zoo.models.bert.checkpoint_names import encoder_names as bert_encoder_names

ENCODER, DECODER = "encoder", "decoder.bert"
ARCHITECTURE = "EncoderDecoderModel"


def _attention(hf, ours):
    names = {}
    for part in ("query", "key", "value"):
        names[f"{hf}.self.{part}.weight"] = (f"{ours}/{part}/kernel", "linear_split_out")
        names[f"{hf}.self.{part}.bias"] = (f"{ours}/{part}/bias", "bias_split")
    names[f"{hf}.output.dense.weight"] = (f"{ours}/attention_output/kernel", "linear_split_in")
    names[f"{hf}.output.dense.bias"] = (f"{ours}/attention_output/bias", "copy")
    return names


def decoder_shared_names(num_layers):
    """{HF decoder name: HF encoder name} of the weights a shared (BERTShare) decoder takes from the encoder."""
    names = bert_encoder_names(types.SimpleNamespace(num_layers=num_layers))  # it needs the layer count alone
    return {f"{DECODER}.{name}": f"{ENCODER}.{name}" for name in names if not name.startswith("pooler.")}


def decoder_names(model):
    """{HF name: (Keras variable path, kind)} of a BertEncoderDecoder's own decoder weights (all of them, or with
    `share_encoder_decoder` those that are not the encoder's: cross-attention and LM head)."""
    names = {
        **dense("decoder.cls.predictions.transform.dense", "lm_head/intermediate_dense"),
        **layer_norm("decoder.cls.predictions.transform.LayerNorm", "lm_head/intermediate_layer_norm"),
        "decoder.cls.predictions.bias": ("lm_head/output_bias", "copy"),
    }
    num_layers = model.encoder.num_layers
    for i in range(num_layers):
        hf, ours = f"{DECODER}.encoder.layer.{i}", f"decoder_layer_{i}"
        names.update(_attention(f"{hf}.crossattention", f"{ours}/cross_attention"))
        names.update(layer_norm(f"{hf}.crossattention.output.LayerNorm", f"{ours}/cross_attention_layer_norm"))
    if model.share_encoder_decoder:
        return names
    names.update({
        f"{DECODER}.embeddings.word_embeddings.weight": ("decoder_token_embedding/embeddings", "copy"),
        f"{DECODER}.embeddings.position_embeddings.weight": ("decoder_position_embedding/embeddings", "copy"),
        f"{DECODER}.embeddings.token_type_embeddings.weight": ("decoder_segment_embedding/embeddings", "copy"),
        **layer_norm(f"{DECODER}.embeddings.LayerNorm", "decoder_embeddings_layer_norm"),
    })
    for i in range(num_layers):
        hf, ours = f"{DECODER}.encoder.layer.{i}", f"decoder_layer_{i}"
        names.update(_attention(f"{hf}.attention", f"{ours}/self_attention"))
        names.update(layer_norm(f"{hf}.attention.output.LayerNorm", f"{ours}/self_attention_layer_norm"))
        names.update(dense(f"{hf}.intermediate.dense", f"{ours}/feedforward_intermediate_dense"))
        names.update(dense(f"{hf}.output.dense", f"{ours}/feedforward_output_dense"))
        names.update(layer_norm(f"{hf}.output.LayerNorm", f"{ours}/feedforward_layer_norm"))
    return names


def tied_names(num_layers, share_encoder_decoder):
    """{HF name a checkpoint stores although the model ties it: the name it must equal}."""
    word_embeddings = f"{ENCODER if share_encoder_decoder else DECODER}.embeddings.word_embeddings.weight"
    tied = {"decoder.cls.predictions.decoder.weight": word_embeddings,
            "decoder.cls.predictions.decoder.bias": "decoder.cls.predictions.bias"}
    if share_encoder_decoder:
        tied.update(decoder_shared_names(num_layers))
    return tied
