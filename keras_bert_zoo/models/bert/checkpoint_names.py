"""BERT's Hugging Face weight names and classes <-> our Keras variables and models.

A checkpoint's `architectures[0]` (config.json) names the class it holds. Each entry says which of
our models holds the same network, the Hugging Face names of its head, and whether the checkpoint
stores the [CLS] pooler (token-level heads and masked LM do not: ours keeps a pooler it never uses).
Every format goes through Hugging Face names: HF folders directly, Google TF checkpoints via
`google_names`. A name's kind says how to reshape between the Keras variable and the HF tensor
(see `keras_bert_zoo.checkpoints.weight_map`).
"""

from keras_bert_zoo.models.bert.backbone import BertEncoder
from keras_bert_zoo.models.classifier import BertClassifier
from keras_bert_zoo.models.family import Architecture
from keras_bert_zoo.models.multiple_choice import BertMultipleChoice
from keras_bert_zoo.models.pretrainer import BertPretrainer
from keras_bert_zoo.models.span_qa import BertSpanQA
from keras_bert_zoo.models.token_classifier import BertTokenClassifier

PREFIX = "bert"
POOLER = "pooler.dense"


def dense(prefix, layer_path):
    """HF names of a dense layer -> (Keras variable path, how the tensor is laid out)."""
    return {f"{prefix}.weight": (f"{layer_path}/kernel", "linear"), f"{prefix}.bias": (f"{layer_path}/bias", "copy")}


def layer_norm(prefix, layer_path):
    return {f"{prefix}.weight": (f"{layer_path}/gamma", "copy"), f"{prefix}.bias": (f"{layer_path}/beta", "copy")}


def encoder_names(encoder):
    """{HF `BertModel` name: (Keras variable path, kind)} of a BertEncoder (and of a RobertaEncoder, whose
    layers and HF names are BERT's)."""
    names = {
        "embeddings.word_embeddings.weight": ("token_embedding/embeddings", "copy"),
        "embeddings.position_embeddings.weight": ("position_embedding/embeddings", "copy"),
        "embeddings.token_type_embeddings.weight": ("segment_embedding/embeddings", "copy"),
        **layer_norm("embeddings.LayerNorm", "embeddings_layer_norm"),
        **dense(POOLER, "pooled_dense"),
    }
    for i in range(encoder.num_layers):
        hf, ours = f"encoder.layer.{i}", f"transformer_layer_{i}"
        attention = f"{ours}/self_attention_layer"
        for part in ("query", "key", "value"):
            names[f"{hf}.attention.self.{part}.weight"] = (f"{attention}/{part}/kernel", "linear_split_out")
            names[f"{hf}.attention.self.{part}.bias"] = (f"{attention}/{part}/bias", "bias_split")
        names[f"{hf}.attention.output.dense.weight"] = (f"{attention}/attention_output/kernel", "linear_split_in")
        names[f"{hf}.attention.output.dense.bias"] = (f"{attention}/attention_output/bias", "copy")
        names.update(layer_norm(f"{hf}.attention.output.LayerNorm", f"{ours}/self_attention_layer_norm"))
        names.update(dense(f"{hf}.intermediate.dense", f"{ours}/feedforward_intermediate_dense"))
        names.update(dense(f"{hf}.output.dense", f"{ours}/feedforward_output_dense"))
        names.update(layer_norm(f"{hf}.output.LayerNorm", f"{ours}/feedforward_layer_norm"))
    return names


def hf_names(state, prefix=PREFIX):
    """A `BertModel` file's names (embeddings.*, encoder.*, pooler.*) with the prefix task files use (`bert.`;
    RoBERTa's files have the same names under `roberta.`)."""
    roots = ("embeddings.", "encoder.", "pooler.")
    return {f"{prefix}.{name}" if name.startswith(roots) else name: value for name, value in state.items()}


MLM_HEAD = {
    **dense("cls.predictions.transform.dense", "mlm_head/intermediate_dense"),
    **layer_norm("cls.predictions.transform.LayerNorm", "mlm_head/intermediate_layer_norm"),
    "cls.predictions.bias": ("mlm_head/output_bias", "copy"),
}
POOLER_NAMES = (f"{POOLER}.weight", f"{POOLER}.bias")
# Tensors some checkpoints store although BERT ties them to another one.
TIED = {
    "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
    "cls.predictions.decoder.bias": "cls.predictions.bias",
}

ARCHITECTURES = {
    a.name: a
    for a in (
        Architecture("BertModel", BertEncoder, {}),
        Architecture("BertForPreTraining", BertPretrainer, {**MLM_HEAD, **dense("cls.seq_relationship", "nsp_dense")},
                     options={"next_sentence": True}),
        Architecture("BertForMaskedLM", BertPretrainer, MLM_HEAD, has_pooler=False,
                     options={"next_sentence": False}),
        Architecture("BertForSequenceClassification", BertClassifier, dense("classifier", "logits"),
                     options={"head": "pooled"}),
        Architecture("BertForTokenClassification", BertTokenClassifier, dense("classifier", "logits"),
                     has_pooler=False),
        Architecture("BertForQuestionAnswering", BertSpanQA, dense("qa_outputs", "span_logits"), has_pooler=False),
        Architecture("BertForMultipleChoice", BertMultipleChoice, dense("classifier", "choice_score"),
                     options={"head": "pooled"}),
    )
}


def architecture_of_state(state):
    """The HF class a checkpoint without `architectures` (Google's) holds, from its tensors' names."""
    if "cls.seq_relationship.weight" in state:
        return "BertForPreTraining"
    if "cls.predictions.bias" in state:
        return "BertForMaskedLM"
    return "BertModel"
