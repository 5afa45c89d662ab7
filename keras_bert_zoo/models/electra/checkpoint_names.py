"""ELECTRA's Hugging Face weight names and classes <-> our Keras variables and models.

A checkpoint's `architectures[0]` (config.json) names the class it holds; each entry says which of our
models holds the same network and the Hugging Face names of its head. The encoder's blocks have BERT's
names; its embeddings have their own width and, where it differs from the hidden size, a projection
`embeddings_project`. ELECTRA has no pooler: the sequence classifier and the multiple-choice summary put a
dense + GELU on the first token (our heads' `head="dense_gelu"`). `ElectraForMaskedLM` is the generator:
`BertPretrainer(next_sentence=False)`, its decoder tied to the word embeddings.
"""

from keras_bert_zoo.models.bert.checkpoint_names import dense, layer_norm
from keras_bert_zoo.models.bert.checkpoint_names import encoder_names as bert_encoder_names
from keras_bert_zoo.models.classifier import BertClassifier
from keras_bert_zoo.models.electra.backbone import ElectraEncoder
from keras_bert_zoo.models.electra.discriminator import ElectraDiscriminator
from keras_bert_zoo.models.family import Architecture
from keras_bert_zoo.models.multiple_choice import BertMultipleChoice
from keras_bert_zoo.models.pretrainer import BertPretrainer
from keras_bert_zoo.models.span_qa import BertSpanQA
from keras_bert_zoo.models.token_classifier import BertTokenClassifier

PREFIX = "electra"


def encoder_names(encoder):
    """{HF `ElectraModel` name: (Keras variable path, kind)} of an ElectraEncoder."""
    names = {
        "embeddings.word_embeddings.weight": ("embeddings/token_embedding/embeddings", "copy"),
        "embeddings.position_embeddings.weight": ("embeddings/position_embedding/embeddings", "copy"),
        "embeddings.token_type_embeddings.weight": ("embeddings/segment_embedding/embeddings", "copy"),
        **layer_norm("embeddings.LayerNorm", "embeddings/layer_norm"),
    }
    if encoder.embeddings_project is not None:
        names.update(dense("embeddings_project", "embeddings_project"))
    names.update({name: value for name, value in bert_encoder_names(encoder).items()
                  if name.startswith("encoder.")})  # BERT's block names, without its embeddings and pooler
    return names


def hf_names(state):
    """An `ElectraModel` file's names (embeddings.*, embeddings_project.*, encoder.*) with the `electra.` prefix
    task files use."""
    roots = ("embeddings.", "embeddings_project.", "encoder.")
    return {f"{PREFIX}.{name}" if name.startswith(roots) else name: value for name, value in state.items()}


GENERATOR_HEAD = {
    **dense("generator_predictions.dense", "mlm_head/intermediate_dense"),
    **layer_norm("generator_predictions.LayerNorm", "mlm_head/intermediate_layer_norm"),
    "generator_lm_head.bias": ("mlm_head/output_bias", "copy"),
}
# The decoder weight a checkpoint may store although it is the word embeddings.
TIED = {"generator_lm_head.weight": f"{PREFIX}.embeddings.word_embeddings.weight"}
FIRST_TOKEN_GELU = {"head": "dense_gelu"}  # the heads' option for ELECTRA's classification head and summary

ARCHITECTURES = {
    a.name: a
    for a in (
        Architecture("ElectraModel", ElectraEncoder, {}),
        Architecture("ElectraForPreTraining", ElectraDiscriminator,
                     {**dense("discriminator_predictions.dense", "discriminator_dense"),
                      **dense("discriminator_predictions.dense_prediction", "discriminator_prediction")}),
        Architecture("ElectraForMaskedLM", BertPretrainer, GENERATOR_HEAD, options={"next_sentence": False}),
        Architecture("ElectraForSequenceClassification", BertClassifier,
                     {**dense("classifier.dense", "head_dense"), **dense("classifier.out_proj", "logits")},
                     options=FIRST_TOKEN_GELU),
        Architecture("ElectraForTokenClassification", BertTokenClassifier, dense("classifier", "logits")),
        Architecture("ElectraForQuestionAnswering", BertSpanQA, dense("qa_outputs", "span_logits")),
        Architecture("ElectraForMultipleChoice", BertMultipleChoice,
                     {**dense("sequence_summary.summary", "head_dense"), **dense("classifier", "choice_score")},
                     options=FIRST_TOKEN_GELU, dropout_keys=("summary_last_dropout",)),
    )
}


def architecture_of_state(state):
    """The HF class a checkpoint without `architectures` holds, from its tensors' names."""
    if "discriminator_predictions.dense_prediction.weight" in state:
        return "ElectraForPreTraining"
    if "generator_lm_head.bias" in state:
        return "ElectraForMaskedLM"
    return "ElectraModel"
