"""The "encoder-decoder" family: Hugging Face `EncoderDecoderModel` folders of a BERT encoder and a BERT decoder.

Its backbone is the encoder (`kbz.load(folder, model_class="backbone")` gives the `BertEncoder` under
`encoder.`); its one architecture, `EncoderDecoderModel`, is a `BertEncoderDecoder`, shared (BERTShare) when
config.json says `tie_encoder_decoder`. Unlike the other families' heads, the decoder's names depend on the
model (its layers, its sharing), so this family computes them per model.

Example:
>>> from keras_bert_zoo.models import families
>>> families.get("encoder-decoder").architectures["EncoderDecoderModel"].model_class.__name__
'BertEncoderDecoder'
"""

import dataclasses

from keras_bert_zoo.models.bert import checkpoint_names as bert_names
from keras_bert_zoo.models.bert.backbone import BertEncoder
from keras_bert_zoo.models.encoder_decoder import checkpoint_names, hf_config
from keras_bert_zoo.models.encoder_decoder.model import BertEncoderDecoder
from keras_bert_zoo.models.family import Architecture, Family


def _architecture(share_encoder_decoder):
    return Architecture(checkpoint_names.ARCHITECTURE, BertEncoderDecoder, {},
                        options={"share_encoder_decoder": bool(share_encoder_decoder)})


@dataclasses.dataclass(frozen=True)
class EncoderDecoderFamily(Family):
    """`Family` with the decoder's weight names, ties and config.json computed from each model."""

    def architecture_of(self, model):
        if type(model) is not BertEncoderDecoder:
            raise TypeError(f"An EncoderDecoderModel checkpoint holds a BertEncoderDecoder, not a "
                            f"{type(model).__name__}; save it with model.save('model.keras').")
        return _architecture(model.share_encoder_decoder)

    def architecture_of_checkpoint(self, config_json, state, source):
        names = config_json.get("architectures") or [checkpoint_names.ARCHITECTURE]
        if names[0] != checkpoint_names.ARCHITECTURE:
            raise ValueError(f"{source}: architectures[0] is {names[0]!r}; this package loads "
                             f"{checkpoint_names.ARCHITECTURE} folders of this model_type.")
        return _architecture(config_json.get("tie_encoder_decoder"))

    def weight_names(self, model):
        if type(model) is BertEncoder:  # the encoder alone, as BertModel names it
            return bert_names.encoder_names(model), ()
        encoder = {f"{checkpoint_names.ENCODER}.{name}": value
                   for name, value in bert_names.encoder_names(model.encoder).items()}
        return encoder | checkpoint_names.decoder_names(model), ()

    def tied_for(self, model):
        return checkpoint_names.tied_names(model.encoder.num_layers, model.share_encoder_decoder)

    def copies_for(self, model):
        if not model.share_encoder_decoder:
            return {}
        return checkpoint_names.decoder_shared_names(model.encoder.num_layers)

    def config_json(self, model, architecture):
        return hf_config.config_to_hf(model.encoder, model.share_encoder_decoder)


ENCODER_DECODER = EncoderDecoderFamily(
    model_type=hf_config.MODEL_TYPE,
    backbone=BertEncoder,
    prefix=checkpoint_names.ENCODER,
    config_from_hf=hf_config.config_from_hf,
    config_to_hf=hf_config.config_to_hf,
    check_sizes=hf_config.check_sizes,
    backbone_names=bert_names.encoder_names,
    hf_names=dict,  # the names are the file's own
    architectures={checkpoint_names.ARCHITECTURE: _architecture(False)},
    architecture_of_state=lambda state: checkpoint_names.ARCHITECTURE,
    tokenizer="BertTokenizer",
    preprocessor="BertPreprocessor",
)
