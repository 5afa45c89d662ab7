"""The decoder blocks' weights that a BERT2BERT takes from the encoder's blocks: self-attention and feed-forward.

keras-hub's `TransformerDecoder` (its self-attention must cache keys and values) and `TransformerEncoder` name
the same weights alike but for the self-attention layer (`self_attention` vs `self_attention_layer`); the
cross-attention has no counterpart. Keras has no public way to make a layer use another's variables, so sharing
(BERTShare) re-points each variable attribute of the built decoder block at the encoder's variable.

Example:
>>> from keras_hub.layers import TransformerDecoder, TransformerEncoder
>>> encoder_block, decoder_block = TransformerEncoder(8, 2), TransformerDecoder(8, 2)
>>> encoder_block.build((None, None, 4)); decoder_block.build((None, None, 4), (None, None, 4))
>>> share_block_weights(decoder_block, encoder_block)
16
>>> decoder_block._feedforward_output_dense.kernel is encoder_block._feedforward_output_dense.kernel
True
"""

import keras


def _relative(variable, block):
    path = variable.path.removeprefix(f"{block.path}/").removeprefix(f"{block.name}/")
    return path.replace("self_attention_layer/", "self_attention/", 1)


def share_block_weights(decoder_block, encoder_block, copy=False):
    """Makes `decoder_block`'s self-attention and feed-forward variables the `encoder_block`'s (or, with
    `copy=True`, copies their values). Returns how many it shared or copied."""
    sources = {_relative(variable, encoder_block): variable for variable in encoder_block.weights}
    count = 0
    for layer in decoder_block._flatten_layers():
        for attribute, value in list(vars(layer).items()):
            if not isinstance(value, keras.Variable):
                continue
            source = sources.get(_relative(value, decoder_block))
            if source is None:  # the cross-attention's
                continue
            if copy:
                value.assign(source)
            else:
                locked = layer._tracker.locked
                layer._tracker.unlock()
                layer._untrack_variable(value)  # what `del` does, without its gc.collect() (a second each)
                setattr(layer, attribute, source)
                if locked:
                    layer._tracker.lock()
            count += 1
    return count
