"""The names and values every level shares: encoder input names, the ignored-label value, padding fills.

It imports nothing, so any module may import it (layers, models, text, data, export alike).

>>> ENCODER_INPUTS
('token_ids', 'segment_ids', 'padding_mask')
"""

# The encoder's inputs, in order: int32 [batch, sequence] (or [batch, choices, sequence]). Models name
# their `keras.Input`s so, preprocessors and data pipelines emit them, SavedModel signatures take them.
TOKEN_IDS = "token_ids"
SEGMENT_IDS = "segment_ids"
PADDING_MASK = "padding_mask"
ENCODER_INPUTS = (TOKEN_IDS, SEGMENT_IDS, PADDING_MASK)

# A target that the loss skips: `SparseCategoricalCrossentropy(ignore_class=IGNORE_LABEL)`, as Hugging Face's -100.
# NER labels every wordpiece but a word's first with it, pretraining every unused masked-LM slot.
IGNORE_LABEL = -100

# `word_ids` / `offsets` of a token that belongs to no word or no context character ([CLS], [SEP], padding).
NO_WORD = -1
