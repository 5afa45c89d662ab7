"""The errors of reading checkpoint and vocabulary files, at the bottom of the package so every level can raise them."""


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, unsafe or inconsistent; the message starts with the file."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint does not fit the model: names every missing, unexpected or misshapen tensor."""
