"""ALBERT's Hugging Face weight names and classes <-> our Keras variables and models.

A checkpoint's `architectures[0]` (config.json) names the class it holds; each entry says which of our
models holds the same network and the Hugging Face names of its head. The backbone stores each group's
blocks once (`encoder.albert_layer_groups.G.albert_layers.J.*`), as our encoder's shared layers
`group_G_layer_J` do. The masked-LM head `predictions.*` maps the hidden states to the embeddings' width
(keras-hub's MaskedLMHead does the same on the tied embeddings), and the sentence-order head
`sop_classifier.classifier` sits on the pooled output where BERT's next-sentence head sits.
"""

import functools

from keras_bert_zoo.models.albert.backbone import AlbertEncoder
from keras_bert_zoo.models.albert.hf_config import PREFIX
from keras_bert_zoo.models.bert import checkpoint_names as bert_names
from keras_bert_zoo.models.bert.checkpoint_names import dense, layer_norm
from keras_bert_zoo.models.classifier import BertClassifier
from keras_bert_zoo.models.family import Architecture
from keras_bert_zoo.models.multiple_choice import BertMultipleChoice
from keras_bert_zoo.models.pretrainer import BertPretrainer
from keras_bert_zoo.models.span_qa import BertSpanQA
from keras_bert_zoo.models.token_classifier import BertTokenClassifier

hf_names = functools.partial(bert_names.hf_names, prefix=PREFIX)  # an AlbertModel file has no `albert.` prefix
POOLER = "pooler"  # a Linear of its own, not BERT's pooler.dense
POOLER_NAMES = (f"{POOLER}.weight", f"{POOLER}.bias")


def encoder_names(encoder):
    """{HF `AlbertModel` name: (Keras variable path, kind)} of an AlbertEncoder."""
    names = {
        "embeddings.word_embeddings.weight": ("token_embedding/embeddings", "copy"),
        "embeddings.position_embeddings.weight": ("position_embedding/embeddings", "copy"),
        "embeddings.token_type_embeddings.weight": ("segment_embedding/embeddings", "copy"),
        **layer_norm("embeddings.LayerNorm", "embeddings_layer_norm"),
        **dense("encoder.embedding_hidden_mapping_in", "embedding_projection"),
        **dense(POOLER, "pooled_dense"),
    }
    for group in range(encoder.num_groups):
        for inner in range(encoder.inner_group_num):
            hf, ours = f"encoder.albert_layer_groups.{group}.albert_layers.{inner}", f"group_{group}_layer_{inner}"
            attention = f"{ours}/self_attention_layer"
            for part in ("query", "key", "value"):
                names[f"{hf}.attention.{part}.weight"] = (f"{attention}/{part}/kernel", "linear_split_out")
                names[f"{hf}.attention.{part}.bias"] = (f"{attention}/{part}/bias", "bias_split")
            names[f"{hf}.attention.dense.weight"] = (f"{attention}/attention_output/kernel", "linear_split_in")
            names[f"{hf}.attention.dense.bias"] = (f"{attention}/attention_output/bias", "copy")
            names.update(layer_norm(f"{hf}.attention.LayerNorm", f"{ours}/self_attention_layer_norm"))
            names.update(dense(f"{hf}.ffn", f"{ours}/feedforward_intermediate_dense"))
            names.update(dense(f"{hf}.ffn_output", f"{ours}/feedforward_output_dense"))
            names.update(layer_norm(f"{hf}.full_layer_layer_norm", f"{ours}/feedforward_layer_norm"))
    return names


MLM_HEAD = {
    **dense("predictions.dense", "mlm_head/intermediate_dense"),
    **layer_norm("predictions.LayerNorm", "mlm_head/intermediate_layer_norm"),
    "predictions.bias": ("mlm_head/output_bias", "copy"),
}
# Tensors some checkpoints store although ALBERT ties them to another one.
TIED = {
    "predictions.decoder.weight": f"{PREFIX}.embeddings.word_embeddings.weight",
    "predictions.decoder.bias": "predictions.bias",
}
DROPOUT_KEYS = ("classifier_dropout_prob",)

ARCHITECTURES = {
    a.name: a
    for a in (
        Architecture("AlbertModel", AlbertEncoder, {}),
        Architecture("AlbertForPreTraining", BertPretrainer,
                     {**MLM_HEAD, **dense("sop_classifier.classifier", "nsp_dense")}, options={"next_sentence": True}),
        Architecture("AlbertForMaskedLM", BertPretrainer, MLM_HEAD, has_pooler=False,
                     options={"next_sentence": False}),
        Architecture("AlbertForSequenceClassification", BertClassifier, dense("classifier", "logits"),
                     options={"head": "pooled"}, dropout_keys=DROPOUT_KEYS),
        Architecture("AlbertForTokenClassification", BertTokenClassifier, dense("classifier", "logits"),
                     has_pooler=False, dropout_keys=(*DROPOUT_KEYS, "hidden_dropout_prob")),
        Architecture("AlbertForQuestionAnswering", BertSpanQA, dense("qa_outputs", "span_logits"), has_pooler=False),
        Architecture("AlbertForMultipleChoice", BertMultipleChoice, dense("classifier", "choice_score"),
                     options={"head": "pooled"}, dropout_keys=DROPOUT_KEYS),
    )
}


def architecture_of_state(state):
    """The HF class a checkpoint without `architectures` holds, from its tensors' names."""
    if "sop_classifier.classifier.weight" in state:
        return "AlbertForPreTraining"
    if "predictions.bias" in state:
        return "AlbertForMaskedLM"
    return "AlbertModel"
