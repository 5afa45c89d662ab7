"""RoBERTa's and XLM-RoBERTa's Hugging Face weight names and classes <-> our Keras variables and models.

The backbone's names are BERT's (`keras_bert_zoo.models.bert.checkpoint_names.encoder_names`) under the
`roberta.` prefix; the heads differ: the masked-LM head is `lm_head.*` (decoder tied to the word
embeddings), the sequence classifier is `RobertaClassificationHead` (`classifier.dense`,
`classifier.out_proj`: our `head="dense_tanh"`), and only the bare model and the multiple-choice
model store the pooler.
"""

import functools

from keras_bert_zoo.models.bert import checkpoint_names as bert_names
from keras_bert_zoo.models.bert.checkpoint_names import dense, layer_norm
from keras_bert_zoo.models.classifier import BertClassifier
from keras_bert_zoo.models.family import Architecture
from keras_bert_zoo.models.multiple_choice import BertMultipleChoice
from keras_bert_zoo.models.pretrainer import BertPretrainer
from keras_bert_zoo.models.roberta.backbone import RobertaEncoder, XLMRobertaEncoder
from keras_bert_zoo.models.roberta.hf_config import PREFIX
from keras_bert_zoo.models.span_qa import BertSpanQA
from keras_bert_zoo.models.token_classifier import BertTokenClassifier

encoder_names = bert_names.encoder_names
hf_names = functools.partial(bert_names.hf_names, prefix=PREFIX)
POOLER_NAMES = bert_names.POOLER_NAMES

MLM_HEAD = {
    **dense("lm_head.dense", "mlm_head/intermediate_dense"),
    **layer_norm("lm_head.layer_norm", "mlm_head/intermediate_layer_norm"),
    "lm_head.bias": ("mlm_head/output_bias", "copy"),
}
CLASSIFICATION_HEAD = {**dense("classifier.dense", "head_dense"), **dense("classifier.out_proj", "logits")}
# Tensors some checkpoints store although RoBERTa ties them to another one.
TIED = {
    "lm_head.decoder.weight": f"{PREFIX}.embeddings.word_embeddings.weight",
    "lm_head.decoder.bias": "lm_head.bias",
}


def architectures(class_prefix, backbone):
    """{HF class name: Architecture} of one member of the family (`Roberta`, `XLMRoberta`)."""
    return {
        a.name: a
        for a in (
            Architecture(f"{class_prefix}Model", backbone, {}),
            Architecture(f"{class_prefix}ForMaskedLM", BertPretrainer, MLM_HEAD, has_pooler=False,
                         options={"next_sentence": False}),
            Architecture(f"{class_prefix}ForSequenceClassification", BertClassifier, CLASSIFICATION_HEAD,
                         has_pooler=False, options={"head": "dense_tanh"}),
            Architecture(f"{class_prefix}ForTokenClassification", BertTokenClassifier, dense("classifier", "logits"),
                         has_pooler=False),
            Architecture(f"{class_prefix}ForQuestionAnswering", BertSpanQA, dense("qa_outputs", "span_logits"),
                         has_pooler=False),
            Architecture(f"{class_prefix}ForMultipleChoice", BertMultipleChoice, dense("classifier", "choice_score"),
                         options={"head": "pooled"}),
        )
    }


ROBERTA_ARCHITECTURES = architectures("Roberta", RobertaEncoder)
XLM_ROBERTA_ARCHITECTURES = architectures("XLMRoberta", XLMRobertaEncoder)


def architecture_of_state(state, class_prefix="Roberta"):
    """The class a config.json without `architectures` holds, from its tensors' names."""
    return f"{class_prefix}ForMaskedLM" if "lm_head.bias" in state else f"{class_prefix}Model"
