"""Hugging Face <-> google-research/bert variable names.

google-research/bert writes `bert/encoder/layer_0/attention/self/query/kernel` ([in, out]) where
transformers writes `bert.encoder.layer.0.attention.self.query.weight` ([out, in]).
"""

import re

# Names that do not follow the general rule.
_SPECIAL = {
    "bert.embeddings.word_embeddings.weight": "bert/embeddings/word_embeddings",
    "bert.embeddings.position_embeddings.weight": "bert/embeddings/position_embeddings",
    "bert.embeddings.token_type_embeddings.weight": "bert/embeddings/token_type_embeddings",
    "cls.predictions.bias": "cls/predictions/output_bias",
    "cls.seq_relationship.weight": "cls/seq_relationship/output_weights",  # [2, hidden] in both
    "cls.seq_relationship.bias": "cls/seq_relationship/output_bias",
}


def to_google(hf_name):
    """(Google name, whether the tensor is transposed) for an HF name with the `bert.` prefix."""
    if hf_name in _SPECIAL:
        return _SPECIAL[hf_name], False
    name = re.sub(r"layer\.(\d+)", r"layer_\1", hf_name)
    name = name.replace("LayerNorm.weight", "LayerNorm/gamma").replace("LayerNorm.bias", "LayerNorm/beta")
    transposed = name.endswith(".weight")
    name = re.sub(r"\.weight$", ".kernel", name)
    return name.replace(".", "/"), transposed


def from_google(google_name):
    """(HF name, whether the tensor is transposed) for a google-research/bert variable name."""
    for hf_name, name in _SPECIAL.items():
        if name == google_name:
            return hf_name, False
    name = google_name.replace("/", ".")
    name = re.sub(r"layer_(\d+)", r"layer.\1", name)
    name = name.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
    transposed = name.endswith(".kernel")
    return re.sub(r"\.kernel$", ".weight", name), transposed
