"""The registry of model families: config.json's `model_type` -> `Family` (bert, roberta, xlm-roberta,
distilbert, electra, albert, deberta-v2, encoder-decoder).

Adding a family (DistilBERT, ...) is one folder under `keras_bert_zoo/models/` and one entry here.

>>> from keras_bert_zoo.models import families
>>> families.get("bert").backbone.__name__
'BertEncoder'
>>> families.of_config({"architectures": ["BertForMaskedLM"]}).model_type  # no model_type: Google's BERT
'bert'
>>> families.get("xlm-roberta").backbone.__name__
'XLMRobertaEncoder'
"""

import functools

from keras_bert_zoo.models.albert import checkpoint_names as albert_names
from keras_bert_zoo.models.albert import hf_config as albert_config
from keras_bert_zoo.models.albert.backbone import AlbertEncoder
from keras_bert_zoo.models.bert import checkpoint_names as bert_names
from keras_bert_zoo.models.bert import google_names as bert_google_names
from keras_bert_zoo.models.bert import hf_config as bert_config
from keras_bert_zoo.models.bert.backbone import BertEncoder
from keras_bert_zoo.models.deberta import checkpoint_names as deberta_names
from keras_bert_zoo.models.deberta import hf_config as deberta_config
from keras_bert_zoo.models.deberta.backbone import DebertaV3Encoder
from keras_bert_zoo.models.distilbert import checkpoint_names as distilbert_names
from keras_bert_zoo.models.distilbert import hf_config as distilbert_config
from keras_bert_zoo.models.distilbert.backbone import DistilBertEncoder
from keras_bert_zoo.models.electra import checkpoint_names as electra_names
from keras_bert_zoo.models.electra import hf_config as electra_config
from keras_bert_zoo.models.electra.backbone import ElectraEncoder
from keras_bert_zoo.models.encoder_decoder.family import ENCODER_DECODER
from keras_bert_zoo.models.encoder_decoder.model import BertEncoderDecoder
from keras_bert_zoo.models.family import Family
from keras_bert_zoo.models.roberta import checkpoint_names as roberta_names
from keras_bert_zoo.models.roberta import hf_config as roberta_config
from keras_bert_zoo.models.roberta.backbone import RobertaEncoder, XLMRobertaEncoder

BERT = Family(
    model_type="bert",
    backbone=BertEncoder,
    prefix=bert_names.PREFIX,
    config_from_hf=bert_config.config_from_hf,
    config_to_hf=bert_config.config_to_hf,
    check_sizes=bert_config.check_sizes,
    backbone_names=bert_names.encoder_names,
    hf_names=bert_names.hf_names,
    architectures=bert_names.ARCHITECTURES,
    architecture_of_state=bert_names.architecture_of_state,
    pooler=bert_names.POOLER_NAMES,
    tied=bert_names.TIED,
    from_google=bert_google_names.from_google,
    to_google=bert_google_names.to_google,
    shape_keys=("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
                "max_sequence_length", "num_segments"),  # dropout, activation, epsilon may differ between equal weights
    tokenizer="BertTokenizer",
    preprocessor="BertPreprocessor",
)


def _roberta(model_type, backbone, class_prefix, architectures, tokenizer, tokenizer_options=None):
    """RoBERTa and XLM-RoBERTa: one network, two model types (and HF class names), two tokenizers."""
    return Family(
        model_type=model_type,
        backbone=backbone,
        prefix=roberta_config.PREFIX,
        config_from_hf=functools.partial(roberta_config.config_from_hf, model_type=model_type),
        config_to_hf=functools.partial(roberta_config.config_to_hf, model_type=model_type),
        check_sizes=functools.partial(roberta_config.check_sizes, model_type=model_type),
        backbone_names=roberta_names.encoder_names,
        hf_names=roberta_names.hf_names,
        architectures=architectures,
        architecture_of_state=functools.partial(roberta_names.architecture_of_state, class_prefix=class_prefix),
        pooler=roberta_names.POOLER_NAMES,
        tied=roberta_names.TIED,
        shape_keys=("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
                    "max_sequence_length", "pad_id"),
        tokenizer=tokenizer,
        preprocessor="BertPreprocessor",
        tokenizer_options=tokenizer_options or {},
        packing={"pair_separators": 2, "segment_ids": False},  # <s> a </s></s> b </s>
    )


ROBERTA = _roberta("roberta", RobertaEncoder, "Roberta", roberta_names.ROBERTA_ARCHITECTURES, "BytePairTokenizer")
XLM_ROBERTA = _roberta("xlm-roberta", XLMRobertaEncoder, "XLMRoberta", roberta_names.XLM_ROBERTA_ARCHITECTURES,
                       "SentencePieceTokenizer", {"layout": "xlm_roberta"})

DISTILBERT = Family(
    model_type="distilbert",
    backbone=DistilBertEncoder,
    prefix=distilbert_names.PREFIX,
    config_from_hf=distilbert_config.config_from_hf,
    config_to_hf=distilbert_config.config_to_hf,
    check_sizes=distilbert_config.check_sizes,
    backbone_names=distilbert_names.encoder_names,
    hf_names=distilbert_names.hf_names,
    architectures=distilbert_names.ARCHITECTURES,
    architecture_of_state=distilbert_names.architecture_of_state,
    tied=distilbert_names.TIED,
    shape_keys=("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
                "max_sequence_length"),
    tokenizer="BertTokenizer",  # WordPiece, as BERT's
    preprocessor="BertPreprocessor",
    packing={"segment_ids": False},  # no token types
)

ELECTRA = Family(
    model_type="electra",
    backbone=ElectraEncoder,
    prefix=electra_names.PREFIX,
    config_from_hf=electra_config.config_from_hf,
    config_to_hf=electra_config.config_to_hf,
    check_sizes=electra_config.check_sizes,
    backbone_names=electra_names.encoder_names,
    hf_names=electra_names.hf_names,
    architectures=electra_names.ARCHITECTURES,
    architecture_of_state=electra_names.architecture_of_state,
    tied=electra_names.TIED,
    shape_keys=("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim", "embedding_dim",
                "max_sequence_length", "num_segments"),
    tokenizer="BertTokenizer",  # WordPiece, as BERT's
    preprocessor="BertPreprocessor",
)

DEBERTA_V3 = Family(
    model_type="deberta-v2",  # transformers' DebertaV2* classes hold the v3 checkpoints
    backbone=DebertaV3Encoder,
    prefix=deberta_config.PREFIX,
    config_from_hf=deberta_config.config_from_hf,
    config_to_hf=deberta_config.config_to_hf,
    check_sizes=deberta_config.check_sizes,
    backbone_names=deberta_names.encoder_names,
    hf_names=deberta_names.hf_names,
    architectures=deberta_names.ARCHITECTURES,
    architecture_of_state=deberta_names.architecture_of_state,
    tied=deberta_names.TIED,
    shape_keys=("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
                "max_sequence_length", "embedding_dim", "num_segments", "position_biased_input",
                "relative_attention", "position_terms", "position_buckets", "share_att_key",
                "norm_relative_embeddings"),
    tokenizer="SentencePieceTokenizer",
    preprocessor="BertPreprocessor",
    # spm.model's ids, [MASK] after them; transformers 5's normalizer, not the .model's
    tokenizer_options={"layout": "plain", "extra_tokens": ["[MASK]"], "normalization": "nfc"},
    packing={"segment_ids": False},  # [CLS] a [SEP] b [SEP]; v3 has no token types
)

ALBERT = Family(
    model_type="albert",
    backbone=AlbertEncoder,
    prefix=albert_config.PREFIX,
    config_from_hf=albert_config.config_from_hf,
    config_to_hf=albert_config.config_to_hf,
    check_sizes=albert_config.check_sizes,
    backbone_names=albert_names.encoder_names,
    hf_names=albert_names.hf_names,
    architectures=albert_names.ARCHITECTURES,
    architecture_of_state=albert_names.architecture_of_state,
    pooler=albert_names.POOLER_NAMES,
    tied=albert_names.TIED,
    shape_keys=("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim", "embedding_dim",
                "num_groups", "inner_group_num", "max_sequence_length", "num_segments"),
    tokenizer="SentencePieceTokenizer",
    preprocessor="BertPreprocessor",  # [CLS] a [SEP] b [SEP], segment ids 0 then 1: BERT's packing
    tokenizer_options={"layout": "plain", "replace_quotes": True},  # AlbertTokenizer's normalization
)

FAMILIES = {family.model_type: family for family in (BERT, ROBERTA, XLM_ROBERTA, DISTILBERT, ELECTRA, ALBERT,
                                                        DEBERTA_V3, ENCODER_DECODER)}
DEFAULT = "bert"  # Google's checkpoints and old HF folders name no model_type


def get(model_type):
    if model_type not in FAMILIES:
        raise ValueError(f"model_type {model_type!r} is not one this package loads ({', '.join(FAMILIES)}).")
    return FAMILIES[model_type]


def of_config(config_json):
    """The family of a config.json (or bert_config.json) dict."""
    return get(config_json.get("model_type") or DEFAULT)


def of_model(model):
    """The family of a backbone or of a task model over one (its exact class: an XLMRobertaEncoder is a
    RobertaEncoder too), or a TypeError."""
    if type(model) is BertEncoderDecoder:  # over a BertEncoder, but named as EncoderDecoderModel names it
        return ENCODER_DECODER
    for family in FAMILIES.values():
        if type(model) is family.backbone or type(getattr(model, "encoder", None)) is family.backbone:
            return family
    raise TypeError(f"{type(model).__name__} is not a model of a known family ({', '.join(FAMILIES)}); "
                    "save it with model.save('model.keras').")
