"""BertPreprocessor: raw strings (or string pairs) -> the inputs of `BertEncoder`, in-graph.

Example:
>>> import keras_bert_zoo as kbz
>>> preprocessor = kbz.load_preprocessor("bert_tiny_uncased", sequence_length=8)
>>> preprocessor(["Hello, world!"])["token_ids"].numpy().tolist()
[[101, 7592, 1010, 2088, 999, 102, 0, 0]]
"""

import keras

from keras_bert_zoo.names import ENCODER_INPUTS, SEGMENT_IDS
from keras_bert_zoo.text.packer import BertPacker, as_segments


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertPreprocessor(keras.layers.Layer):
    """Tokenizes and packs text for BERT: dict of int32 `token_ids`, `segment_ids`, `padding_mask`.

    Input: a string tensor [batch] (or a scalar for one example, giving [sequence_length]
    outputs), or a tuple (or list of tensors) of two such for sentence pairs. A list of Python
    strings is a batch, never a pair. Works eagerly, in `tf.data.Dataset.map`, `tf.function` and
    SavedModels.

    Args:
        tokenizer: a `BertTokenizer`.
        sequence_length: output length, or None to pad each batch to its longest sequence.
        truncate: "round_robin", "longest_first" or "only_second" (see `BertPacker`).
        padding: "max_length", or "longest" to pad each batch only to its longest row.
        pair_separators, segment_ids: the family's packing (see `BertPacker`): RoBERTa and XLM-R put two
            separators between a pair's segments, and they and DistilBERT take no `segment_ids`.

    Example:
    >>> from keras_bert_zoo.text import BertTokenizer
    >>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "yes", "no"])
    >>> out = BertPreprocessor(tokenizer, sequence_length=6)((["yes"], ["no no"]))
    >>> out["token_ids"].numpy().tolist(), out["segment_ids"].numpy().tolist()
    ([[2, 5, 3, 6, 6, 3]], [[0, 0, 0, 1, 1, 1]])
    """

    def __init__(self, tokenizer, sequence_length=128, truncate="round_robin", padding="max_length",
                 pair_separators=1, segment_ids=True, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False  # string inputs stay strings
        self._allow_non_tensor_positional_args = True
        self.built = True
        self.tokenizer = tokenizer
        self.sequence_length = sequence_length
        self.truncate = truncate
        self.padding = padding
        self.pair_separators = pair_separators
        self.segment_ids = bool(segment_ids)
        self._packer = None

    @property
    def packer(self):
        """The `BertPacker`, made on first use: a preprocessor loaded from a `.keras` file gets its
        tokenizer's vocabulary (a saved asset), and with it the special token ids, after it is built."""
        if self._packer is None:
            tokenizer = self.tokenizer
            self._packer = BertPacker(tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id, self.sequence_length,
                                      self.truncate, self.padding, self.pair_separators, self.segment_ids)
        return self._packer

    def packer_for(self, sequence_length, truncate="round_robin"):
        """A `BertPacker` with this preprocessor's tokens and packing, padding to `sequence_length` (for
        pipelines that tokenize on their own: NER words, span QA windows, pretraining pairs)."""
        tokenizer = self.tokenizer
        return BertPacker(tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id, sequence_length, truncate,
                          pair_separators=self.pair_separators, segment_ids=self.segment_ids)

    def with_tokenizer(self, tokenizer):
        """A copy of this preprocessor around another tokenizer (e.g. its LiteRT-ready `for_tflite()` copy)."""
        config = self.get_config()
        config.pop("tokenizer")
        return type(self)(tokenizer, **config)

    def compute_output_spec(self, inputs):
        """The outputs' shapes without running the tokenizer: a functional model that holds this layer is
        rebuilt from its .keras file before the vocabulary (an asset) is loaded."""
        first = inputs[0] if isinstance(inputs, (tuple, list)) else inputs  # a pair: its first segment
        shape = (*first.shape[:1], self.sequence_length)
        return {name: keras.KerasTensor(shape, "int32") for name in self.output_names}

    @property
    def output_names(self):
        """The encoder inputs it makes: `ENCODER_INPUTS`, without `segment_ids` where the family has none."""
        return tuple(name for name in ENCODER_INPUTS if self.segment_ids or name != SEGMENT_IDS)

    def call(self, inputs):
        return self.packer(tuple(self.tokenizer(segment) for segment in as_segments(inputs)))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "tokenizer": keras.saving.serialize_keras_object(self.tokenizer),
                "sequence_length": self.sequence_length,
                "truncate": self.truncate,
                "padding": self.padding,
                "pair_separators": self.pair_separators,
                "segment_ids": self.segment_ids,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["tokenizer"] = keras.saving.deserialize_keras_object(config["tokenizer"])
        return cls(**config)
