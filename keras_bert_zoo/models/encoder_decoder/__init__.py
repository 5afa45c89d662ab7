"""BERT2BERT: `BertEncoderDecoder`, a BERT encoder and a BERT decoder with cross-attention, and what maps it to
Hugging Face `EncoderDecoderModel` folders.

`model` holds the Keras model (and `from_encoder`, the warm start); `shared_weights` the decoder blocks'
weights taken from the encoder's; `checkpoint_names` and `hf_config` the Hugging Face names and config.json;
`family` registers them (`keras_bert_zoo.models.families`) as the model_type "encoder-decoder".
"""

from keras_bert_zoo.models.encoder_decoder.model import BertEncoderDecoder

__all__ = ["BertEncoderDecoder"]
