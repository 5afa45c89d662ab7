"""DeBERTa-v2/v3's Hugging Face weight names and classes <-> our Keras variables and models.

A checkpoint's `architectures[0]` (config.json) names the class it holds. DeBERTa has no pooler in
its backbone: the sequence classifier and multiple-choice classes put a `ContextPooler` (dropout, dense
`pooler.dense`, GELU) on the first token, our heads' `head="dense_gelu"` (ELECTRA's too; its first dropout,
`pooler_dropout`, is 0 in the public configs). The masked-LM head is
transformers' default legacy one (`cls.predictions.*`, decoder tied to the word embeddings); files with
the `legacy=False` head (`lm_predictions.lm_head.*`, the same computation) are read into it.
"""

from keras_bert_zoo.models.bert.checkpoint_names import dense, layer_norm
from keras_bert_zoo.models.classifier import BertClassifier
from keras_bert_zoo.models.deberta.backbone import DebertaV3Encoder
from keras_bert_zoo.models.deberta.hf_config import PREFIX
from keras_bert_zoo.models.family import Architecture
from keras_bert_zoo.models.multiple_choice import BertMultipleChoice
from keras_bert_zoo.models.pretrainer import BertPretrainer
from keras_bert_zoo.models.span_qa import BertSpanQA
from keras_bert_zoo.models.token_classifier import BertTokenClassifier


def encoder_names(encoder):
    """{HF `DebertaV2Model` name: (Keras variable path, kind)} of a DebertaV3Encoder."""
    names = {
        "embeddings.word_embeddings.weight": ("token_embedding/embeddings", "copy"),
        **layer_norm("embeddings.LayerNorm", "embeddings_layer_norm"),
    }
    if encoder.position_biased_input:
        names["embeddings.position_embeddings.weight"] = ("position_embedding/embeddings", "copy")
    if encoder.num_segments:
        names["embeddings.token_type_embeddings.weight"] = ("segment_embedding/embeddings", "copy")
    if encoder.embedding_dim != encoder.hidden_dim:
        names["embeddings.embed_proj.weight"] = ("embedding_projection/kernel", "linear")
    if encoder.relative_attention:
        names["encoder.rel_embeddings.weight"] = ("relative_embedding/embeddings", "copy")
        if encoder.norm_relative_embeddings:
            names.update(layer_norm("encoder.LayerNorm", "relative_embedding/layer_norm"))
    own_projections = [] if encoder.share_att_key or not encoder.relative_attention else [
        (theirs, ours) for term, theirs, ours in (("c2p", "pos_key_proj", "pos_key"),
                                                  ("p2c", "pos_query_proj", "pos_query"))
        if term in encoder.position_terms]
    for i in range(encoder.num_layers):
        hf, ours = f"encoder.layer.{i}", f"transformer_layer_{i}"
        for theirs, part in (("query_proj", "query"), ("key_proj", "key"), ("value_proj", "value"),
                             *own_projections):
            names.update(dense(f"{hf}.attention.self.{theirs}", f"{ours}/self_attention/{part}"))
        names.update(dense(f"{hf}.attention.output.dense", f"{ours}/attention_output"))
        names.update(layer_norm(f"{hf}.attention.output.LayerNorm", f"{ours}/attention_layer_norm"))
        names.update(dense(f"{hf}.intermediate.dense", f"{ours}/intermediate_dense"))
        names.update(dense(f"{hf}.output.dense", f"{ours}/output_dense"))
        names.update(layer_norm(f"{hf}.output.LayerNorm", f"{ours}/output_layer_norm"))
    return names


# The legacy=False masked-LM head's names -> the legacy ones (the same tensors: dense, LayerNorm, bias).
_LM_HEAD = {"lm_predictions.lm_head.dense.": "cls.predictions.transform.dense.",
            "lm_predictions.lm_head.LayerNorm.": "cls.predictions.transform.LayerNorm.",
            "lm_predictions.lm_head.bias": "cls.predictions.bias"}
# Tensors the public pretraining checkpoints carry that no transformers class reads (it ignores them too):
# the replaced-token-detection head.
_UNUSED = ("mask_predictions.",)


def hf_names(state):
    """A checkpoint's names as task files use them: a `DebertaV2Model` file's (embeddings.*, encoder.*) with
    the `deberta.` prefix, the legacy=False masked-LM head under its legacy names."""
    renamed = {}
    for name, value in state.items():
        if name.startswith(_UNUSED):
            continue
        if name.startswith(("embeddings.", "encoder.")):
            name = f"{PREFIX}.{name}"
        for theirs, ours in _LM_HEAD.items():
            if name.startswith(theirs):
                name = ours + name[len(theirs):]
        renamed[name] = value
    return renamed


MLM_HEAD = {
    **dense("cls.predictions.transform.dense", "mlm_head/intermediate_dense"),
    **layer_norm("cls.predictions.transform.LayerNorm", "mlm_head/intermediate_layer_norm"),
    "cls.predictions.bias": ("mlm_head/output_bias", "copy"),
}
# Tensors a checkpoint may store although they are tied to another one.
TIED = {
    "cls.predictions.decoder.weight": f"{PREFIX}.embeddings.word_embeddings.weight",
    "cls.predictions.decoder.bias": "cls.predictions.bias",
}
CONTEXT_POOLER = {"head": "dense_gelu"}  # the heads' option for transformers' ContextPooler
CLASSIFIER_DROPOUT = ("cls_dropout", "hidden_dropout_prob")

ARCHITECTURES = {
    a.name: a
    for a in (
        Architecture("DebertaV2Model", DebertaV3Encoder, {}),
        Architecture("DebertaV2ForMaskedLM", BertPretrainer, MLM_HEAD, options={"next_sentence": False}),
        Architecture("DebertaV2ForSequenceClassification", BertClassifier,
                     {**dense("pooler.dense", "head_dense"), **dense("classifier", "logits")},
                     options=CONTEXT_POOLER, dropout_keys=CLASSIFIER_DROPOUT),
        Architecture("DebertaV2ForTokenClassification", BertTokenClassifier, dense("classifier", "logits"),
                     dropout_keys=("hidden_dropout_prob",)),
        Architecture("DebertaV2ForQuestionAnswering", BertSpanQA, dense("qa_outputs", "span_logits")),
        Architecture("DebertaV2ForMultipleChoice", BertMultipleChoice,
                     {**dense("pooler.dense", "head_dense"), **dense("classifier", "choice_score")},
                     options=CONTEXT_POOLER, dropout_keys=CLASSIFIER_DROPOUT),
    )
}


def architecture_of_state(state):
    """The HF class a checkpoint without `architectures` holds, from its tensors' names."""
    return "DebertaV2ForMaskedLM" if "cls.predictions.bias" in state else "DebertaV2Model"
