"""BertEncoderDecoder: a BERT encoder and a BERT decoder with cross-attention (BERT2BERT, Rothe et al. 2020)."""

import logging
import random

import keras
from keras_hub.layers import MaskedLMHead, PositionEmbedding, ReversibleEmbedding, TransformerDecoder

from keras_bert_zoo.layers import get_activation
from keras_bert_zoo.models.bert.backbone import BertEncoder, bert_initializer
from keras_bert_zoo.models.encoder_decoder import generation
from keras_bert_zoo.models.encoder_decoder.shared_weights import share_block_weights
from keras_bert_zoo.models.task import BertTask, float32_logits
from keras_bert_zoo.names import PADDING_MASK, SEGMENT_IDS, TOKEN_IDS

logger = logging.getLogger("keras_bert_zoo")

ENCODER_TOKEN_IDS, ENCODER_PADDING_MASK = "encoder_token_ids", "encoder_padding_mask"
DECODER_TOKEN_IDS, DECODER_PADDING_MASK = "decoder_token_ids", "decoder_padding_mask"


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertEncoderDecoder(BertTask):
    """A `BertEncoder` and a BERT decoder of the encoder's shape, as Hugging Face's `EncoderDecoderModel`
    (BERT encoder + `BertLMHeadModel` decoder with cross-attention).

    The decoder: embeddings (word, position, token type 0, LayerNorm, dropout), post-LayerNorm blocks with causal
    self-attention and cross-attention to the encoder (keras-hub `TransformerDecoder`), and an LM head (dense +
    activation + LayerNorm, then the decoder's word embeddings transposed plus a bias) over every position.
    With `share_encoder_decoder=True` (BERTShare) the decoder's embeddings, self-attention and feed-forward
    weights are the encoder's (as transformers' `tie_encoder_decoder`); its cross-attention is its own.

    Inputs, named as keras-hub's `Seq2SeqLM`: `encoder_token_ids`, `encoder_padding_mask`, `decoder_token_ids`,
    `decoder_padding_mask` (int [batch, seq], each seq dynamic). Output: `logits` [batch, decoder seq, vocab],
    float32. `BertEncoderDecoder.from_encoder(source)` warm-starts both halves from one encoder checkpoint.

    Example:
    >>> import numpy as np, keras_bert_zoo as kbz
    >>> model = kbz.BertEncoderDecoder(kbz.BertEncoder(100, 2, 2, 32, 64))
    >>> ids, mask = np.ones((2, 7), "int32"), np.ones((2, 7), "int32")
    >>> out = model({"encoder_token_ids": ids, "encoder_padding_mask": mask,
    ...              "decoder_token_ids": ids[:, :5], "decoder_padding_mask": mask[:, :5]})
    >>> tuple(out["logits"].shape)
    (2, 5, 100)
    """

    config_keys = ("share_encoder_decoder",)

    def __init__(self, encoder, share_encoder_decoder=False, preprocessor=None, **kwargs):
        if type(encoder) is not BertEncoder:
            raise TypeError(f"BertEncoderDecoder takes a kbz.BertEncoder, not a {type(encoder).__name__}.")
        dtype = encoder.dtype_policy
        if share_encoder_decoder:  # the encoder's own embedding layers
            self.decoder_token_embedding = encoder.token_embedding
            self.decoder_position_embedding = encoder.position_embedding
            self.decoder_segment_embedding = encoder.segment_embedding
            self.decoder_embeddings_layer_norm = encoder.embeddings_layer_norm
        else:
            self.decoder_token_embedding = ReversibleEmbedding(
                encoder.vocabulary_size, encoder.hidden_dim, embeddings_initializer=bert_initializer(), dtype=dtype,
                name="decoder_token_embedding")
            self.decoder_position_embedding = PositionEmbedding(
                encoder.max_sequence_length, initializer=bert_initializer(), dtype=dtype,
                name="decoder_position_embedding")
            self.decoder_segment_embedding = keras.layers.Embedding(
                encoder.num_segments, encoder.hidden_dim, embeddings_initializer=bert_initializer(), dtype=dtype,
                name="decoder_segment_embedding")  # only token type 0 is used; the checkpoint holds them all
            self.decoder_embeddings_layer_norm = keras.layers.LayerNormalization(
                epsilon=encoder.layer_norm_epsilon, dtype=dtype, name="decoder_embeddings_layer_norm")
        self.decoder_embeddings_dropout = keras.layers.Dropout(
            encoder.dropout, dtype=dtype, name="decoder_embeddings_dropout")
        self.decoder_layers = [
            TransformerDecoder(
                intermediate_dim=encoder.intermediate_dim,
                num_heads=encoder.num_heads,
                dropout=encoder.dropout,
                activation=get_activation(encoder.activation),
                layer_norm_epsilon=encoder.layer_norm_epsilon,
                kernel_initializer=bert_initializer(),
                normalize_first=False,  # BERT's post-LayerNorm blocks
                dtype=dtype,
                name=f"decoder_layer_{i}",
            )
            for i in range(encoder.num_layers)
        ]
        self.lm_head = MaskedLMHead(
            token_embedding=self.decoder_token_embedding,
            intermediate_activation=get_activation(encoder.activation),
            layer_norm_epsilon=encoder.layer_norm_epsilon,
            kernel_initializer=bert_initializer(),
            dtype=dtype,
            name="lm_head",
        )

        inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name)
                  for name in (ENCODER_TOKEN_IDS, ENCODER_PADDING_MASK, DECODER_TOKEN_IDS, DECODER_PADDING_MASK)}
        encoder_ids = inputs[ENCODER_TOKEN_IDS]
        encoded = encoder({TOKEN_IDS: encoder_ids, SEGMENT_IDS: keras.ops.zeros_like(encoder_ids),
                           PADDING_MASK: inputs[ENCODER_PADDING_MASK]})["sequence_output"]
        decoded = self.decode(inputs[DECODER_TOKEN_IDS], inputs[DECODER_PADDING_MASK], encoded,
                              inputs[ENCODER_PADDING_MASK])
        positions = keras.ops.cumsum(keras.ops.ones_like(inputs[DECODER_TOKEN_IDS]), axis=1) - 1  # every position
        logits = float32_logits(self.lm_head(decoded, mask_positions=positions))
        super().__init__(encoder, inputs, {"logits": logits}, preprocessor=preprocessor, **kwargs)
        if share_encoder_decoder:
            for decoder_block, encoder_block in zip(self.decoder_layers, encoder.transformer_layers):
                share_block_weights(decoder_block, encoder_block)
        self.share_encoder_decoder = share_encoder_decoder

    def embed_decoder_tokens(self, token_ids, start_index=0):
        """The decoder's embeddings of `token_ids` at positions `start_index`, `start_index` + 1, ..."""
        tokens = self.decoder_token_embedding(token_ids)
        x = (tokens + self.decoder_position_embedding(tokens, start_index=start_index)
             + self.decoder_segment_embedding(keras.ops.zeros_like(token_ids)))
        return self.decoder_embeddings_dropout(self.decoder_embeddings_layer_norm(x))

    def decode(self, token_ids, padding_mask, encoded, encoder_padding_mask):
        """The decoder's last hidden states [batch, t, hidden] over the encoder's `encoded` states."""
        x = self.embed_decoder_tokens(token_ids)
        for layer in self.decoder_layers:
            x = layer(x, encoded, decoder_padding_mask=padding_mask, encoder_padding_mask=encoder_padding_mask)
        return x

    def generate(self, encoder_inputs, max_length=20, min_length=0, num_beams=1, length_penalty=1.0,
                 no_repeat_ngram_size=0, early_stopping=False, do_sample=False, top_k=50, top_p=1.0, seed=None,
                 start_token_id=None, end_token_id=None, pad_token_id=0, jit_compile=False):
        """Token ids [batch, length <= max_length]: each row `start_token_id` (the decoder's first input; [CLS] of
        the preprocessor's vocabulary by default), then the generated tokens up to `end_token_id` ([SEP] by
        default), `pad_token_id` after it. `encoder_inputs`: a dict with `encoder_token_ids` and
        `encoder_padding_mask`.

        The options are transformers' `generate` ones, with its meanings and defaults (see `generation`): greedy
        (`num_beams=1`), beam search (`num_beams`, `length_penalty`, `early_stopping`), top-k / top-p sampling
        (`do_sample`, `top_k`, `top_p`; with `num_beams` > 1, beam sampling) drawn from `seed` (None: a random
        one), and with all of them `min_length` and `no_repeat_ngram_size`. Cached (`decoding_step`), it runs as
        one `tf.function` traced once per (max_length, num_beams, do_sample), under XLA with `jit_compile=True`.
        """
        options = dict(
            max_length=max_length, min_length=min_length, num_beams=num_beams, length_penalty=float(length_penalty),
            no_repeat_ngram_size=no_repeat_ngram_size, early_stopping=bool(early_stopping),
            do_sample=bool(do_sample), top_k=top_k, top_p=float(top_p),
            seed=random.randrange(2**31) if seed is None else seed,
            start_token_id=self._special_id(start_token_id, "[CLS]", "start_token_id"),
            end_token_id=self._special_id(end_token_id, "[SEP]", "end_token_id"), pad_token_id=pad_token_id)
        options = {name: value if isinstance(value, (bool, float)) else int(value) for name, value in options.items()}
        generation.check_options(options, self.encoder.max_sequence_length, self.encoder.vocabulary_size)
        missing = {ENCODER_TOKEN_IDS, ENCODER_PADDING_MASK} - set(encoder_inputs)
        if missing:
            raise ValueError(f"encoder_inputs lacks {', '.join(sorted(missing))}; it has {', '.join(encoder_inputs)}.")
        static = {name: options[name] for name in (*generation.SHAPE_OPTIONS, "do_sample")}
        key = (*static.values(), bool(jit_compile))
        functions = self.__dict__.setdefault("_generate_functions", {})  # traced once per key
        if key not in functions:
            functions[key] = generation.compiled(self, static, jit_compile=jit_compile)
        tokens, length = functions[key](
            *(keras.ops.convert_to_tensor(encoder_inputs[name], "int32")
              for name in (ENCODER_TOKEN_IDS, ENCODER_PADDING_MASK)),
            {name: keras.ops.convert_to_tensor(value, generation.DTYPES[name].name)
             for name, value in options.items() if name not in static})
        return keras.ops.convert_to_numpy(tokens)[:, :int(length)]

    def _special_id(self, value, token, argument):
        if value is not None:
            return int(value)
        tokenizer = getattr(self.preprocessor, "tokenizer", None)
        if tokenizer is None:
            raise ValueError(f"{argument} is needed: the model has no preprocessor whose vocabulary has {token}.")
        return int(tokenizer.token_to_id(token))

    @classmethod
    def from_encoder(cls, source, share_encoder_decoder=False):
        """A BERT2BERT warm-started from one encoder checkpoint (Rothe et al. 2020).

        `source`: a `BertEncoder` or a `BertPretrainer`, e.g. `kbz.load("path/to/hf_folder")` of a
        `BertForMaskedLM` folder, a preset or a Google checkpoint (models sit below loading, so they take
        what it loaded, not a path). The encoder, the decoder's embeddings and its
        blocks' self-attention and feed-forward layers start from the encoder's weights (shared with
        `share_encoder_decoder`); the LM head's transform and bias from the checkpoint's masked-LM head where it
        has one. What starts random is logged: always the cross-attention.
        """
        encoder = source if isinstance(source, BertEncoder) else getattr(source, "encoder", None)
        if type(encoder) is not BertEncoder:
            raise TypeError(f"BertEncoderDecoder.from_encoder needs a BERT encoder; {source!r} is a "
                            f"{type(source).__name__}.")
        model = cls(encoder, share_encoder_decoder=share_encoder_decoder)
        if not share_encoder_decoder:
            copy_encoder_into_decoder(model)
        random = [f"cross-attention of {encoder.num_layers} decoder layers (query, key, value, output, LayerNorm)"]
        mlm_head = getattr(source, "mlm_head", None)
        if mlm_head is not None:
            model.lm_head.set_weights(mlm_head.get_weights())
        else:
            random.append("the LM head's transform (dense, LayerNorm) and output bias")
        logger.warning("BertEncoderDecoder.from_encoder: random weights for the %s; the rest is the encoder's.",
                       " and ".join(random))
        return model


def copy_encoder_into_decoder(model):
    """Copies the encoder's embeddings and blocks' self-attention and feed-forward weights into the decoder."""
    encoder = model.encoder
    pairs = [(model.decoder_token_embedding, encoder.token_embedding),
             (model.decoder_position_embedding, encoder.position_embedding),
             (model.decoder_segment_embedding, encoder.segment_embedding),
             (model.decoder_embeddings_layer_norm, encoder.embeddings_layer_norm)]
    for target, source in pairs:
        target.set_weights(source.get_weights())
    for decoder_block, encoder_block in zip(model.decoder_layers, encoder.transformer_layers):
        share_block_weights(decoder_block, encoder_block, copy=True)
