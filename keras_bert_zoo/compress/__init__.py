"""Model compression: structured pruning (heads, feed-forward neurons, layers) and quantization.

`prune` slices a BERT encoder (or a task model over one) into a smaller model of the same class;
`gate_importance` ranks heads and neurons by the gradient of a gate (Michel et al. 2019);
`quantization` holds Keras' int8 weight quantization and quantization-aware fine-tuning.
"""

from keras_bert_zoo.compress.head_importance import gate_importance
from keras_bert_zoo.compress.pruning import prune
from keras_bert_zoo.compress.quantization import FakeQuantWeights, quantize_int8

__all__ = ["FakeQuantWeights", "gate_importance", "prune", "quantize_int8"]
