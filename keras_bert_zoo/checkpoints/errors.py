"""The errors of checkpoint reading, and the checks every reader applies to the tensors it read."""

import numpy as np

from keras_bert_zoo.errors import CheckpointError, CheckpointMismatchError

__all__ = ["CheckpointError", "CheckpointMismatchError", "check_weights"]


def check_weights(state, file, display_name=str):
    """Refuses tensors that cannot be model weights: not floating point, or holding NaN/inf."""
    for name, value in state.items():
        value = np.asarray(value)
        if not np.issubdtype(value.dtype, np.floating):
            raise CheckpointError(f"{file}: {display_name(name)} holds {value.dtype} values; model weights are floats.")
        if not np.isfinite(value).all():
            raise CheckpointError(f"{file}: {display_name(name)} holds NaN or infinite values.")
    return state
