"""DistilBERT's Hugging Face weight names and classes <-> our Keras variables and models.

A checkpoint's `architectures[0]` (config.json) names the class it holds; each entry says which of our
models holds the same network and the Hugging Face names of its head. DistilBERT has no pooler: the
sequence classifier and multiple-choice classes put a "pre-classifier" (dense + relu) on the first
token, our heads' `head="dense_relu"`. The masked-LM decoder is tied to the word embeddings.
"""

from keras_bert_zoo.models.bert.checkpoint_names import dense, layer_norm
from keras_bert_zoo.models.classifier import BertClassifier
from keras_bert_zoo.models.distilbert.backbone import DistilBertEncoder
from keras_bert_zoo.models.family import Architecture
from keras_bert_zoo.models.multiple_choice import BertMultipleChoice
from keras_bert_zoo.models.pretrainer import BertPretrainer
from keras_bert_zoo.models.span_qa import BertSpanQA
from keras_bert_zoo.models.token_classifier import BertTokenClassifier

PREFIX = "distilbert"


def encoder_names(encoder):
    """{HF `DistilBertModel` name: (Keras variable path, kind)} of a DistilBertEncoder."""
    names = {
        "embeddings.word_embeddings.weight": ("token_embedding/embeddings", "copy"),
        "embeddings.position_embeddings.weight": ("position_embedding/embeddings", "copy"),
        **layer_norm("embeddings.LayerNorm", "embeddings_layer_norm"),
    }
    for i in range(encoder.num_layers):
        hf, ours = f"transformer.layer.{i}", f"transformer_layer_{i}"
        attention = f"{ours}/self_attention_layer"
        for theirs, part in (("q_lin", "query"), ("k_lin", "key"), ("v_lin", "value")):
            names[f"{hf}.attention.{theirs}.weight"] = (f"{attention}/{part}/kernel", "linear_split_out")
            names[f"{hf}.attention.{theirs}.bias"] = (f"{attention}/{part}/bias", "bias_split")
        names[f"{hf}.attention.out_lin.weight"] = (f"{attention}/attention_output/kernel", "linear_split_in")
        names[f"{hf}.attention.out_lin.bias"] = (f"{attention}/attention_output/bias", "copy")
        names.update(layer_norm(f"{hf}.sa_layer_norm", f"{ours}/self_attention_layer_norm"))
        names.update(dense(f"{hf}.ffn.lin1", f"{ours}/feedforward_intermediate_dense"))
        names.update(dense(f"{hf}.ffn.lin2", f"{ours}/feedforward_output_dense"))
        names.update(layer_norm(f"{hf}.output_layer_norm", f"{ours}/feedforward_layer_norm"))
    return names


def hf_names(state):
    """A `DistilBertModel` file's names (embeddings.*, transformer.*) with the `distilbert.` prefix task files use."""
    roots = ("embeddings.", "transformer.")
    return {f"{PREFIX}.{name}" if name.startswith(roots) else name: value for name, value in state.items()}


MLM_HEAD = {
    **dense("vocab_transform", "mlm_head/intermediate_dense"),
    **layer_norm("vocab_layer_norm", "mlm_head/intermediate_layer_norm"),
    "vocab_projector.bias": ("mlm_head/output_bias", "copy"),
}
# The decoder weight a checkpoint may store although it is the word embeddings.
TIED = {"vocab_projector.weight": f"{PREFIX}.embeddings.word_embeddings.weight"}
PRE_CLASSIFIER = {"head": "dense_relu"}  # the heads' option for DistilBERT's pre_classifier

ARCHITECTURES = {
    a.name: a
    for a in (
        Architecture("DistilBertModel", DistilBertEncoder, {}),
        Architecture("DistilBertForMaskedLM", BertPretrainer, MLM_HEAD, options={"next_sentence": False}),
        Architecture("DistilBertForSequenceClassification", BertClassifier,
                     {**dense("pre_classifier", "head_dense"), **dense("classifier", "logits")},
                     options=PRE_CLASSIFIER, dropout_keys=("seq_classif_dropout",)),
        Architecture("DistilBertForTokenClassification", BertTokenClassifier, dense("classifier", "logits"),
                     dropout_keys=("dropout",)),
        Architecture("DistilBertForQuestionAnswering", BertSpanQA, dense("qa_outputs", "span_logits")),
        Architecture("DistilBertForMultipleChoice", BertMultipleChoice,
                     {**dense("pre_classifier", "head_dense"), **dense("classifier", "choice_score")},
                     options=PRE_CLASSIFIER, dropout_keys=("seq_classif_dropout",)),
    )
}


def architecture_of_state(state):
    """The HF class a checkpoint without `architectures` holds, from its tensors' names."""
    return "DistilBertForMaskedLM" if "vocab_projector.bias" in state else "DistilBertModel"
