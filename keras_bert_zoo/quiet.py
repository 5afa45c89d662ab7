"""TensorFlow's start-up lines, hidden from the CLI and the recipes unless asked for.

`import tensorflow` writes 7-8 lines to stderr (the oneDNN notice, `cudart_stub`, `cpu_feature_guard`,
absl's "All log messages before absl::InitializeLog() ...", twice: two libraries log them) and the first
device look-up an `E0000 ... failed call to cuInit` on a machine without a GPU. absl writes them from C++
before any logging set-up can run, so `TF_CPP_MIN_LOG_LEVEL` does not hide them all. `import_tensorflow`
imports TensorFlow (and looks up its devices) with file descriptor 2 sent to a temporary file, then writes
back every line of it that is not one of those: Python warnings and real errors still show.

`KERAS_BERT_ZOO_VERBOSE=1` (or `keras-bert-zoo --verbose`) leaves TensorFlow's logging as it is.
"""

import os
import re
import sys
import tempfile

VERBOSE_ENV = "KERAS_BERT_ZOO_VERBOSE"

# TensorFlow's start-up notices, none of them an error for a user of this package.
_NOISE = re.compile(
    "|".join(
        [
            r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
            r"oneDNN custom operations are on",
            r"cudart_stub\.cc:\d+\]",
            r"cpu_feature_guard\.cc:\d+\]",
            r"^To enable the following instructions: .*rebuild TensorFlow",
            r"failed call to cuInit",
            r"Unable to register cu(DNN|FFT|BLAS) factory",
            r"computation_placer\.cc:\d+\] computation placer already registered",
            r"TF-TRT Warning: Could not find TensorRT",
        ]
    )
)


def verbose():
    """Whether TensorFlow's own logging should show: `KERAS_BERT_ZOO_VERBOSE` set to anything but 0/false/no/off."""
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


def set_verbose(on=True):
    """Sets `KERAS_BERT_ZOO_VERBOSE` for this process and its children (a recipe run by `keras-bert-zoo train`)."""
    os.environ[VERBOSE_ENV] = "1" if on else "0"


def noise(line):
    """Whether a stderr line is one of TensorFlow's start-up notices.

    >>> noise("I0000 00:00:17.9 20607 cudart_stub.cc:31] Could not find cuda drivers on your machine")
    True
    >>> noise("ValueError: bad input")
    False
    """
    return bool(_NOISE.search(line))


def import_tensorflow():
    """Imports TensorFlow without its start-up lines (unless `verbose()`); returns the module.

    Call it before anything imports TensorFlow or Keras. Once TensorFlow is imported it only returns it.
    """
    if "tensorflow" in sys.modules or verbose():
        import tensorflow

        return tensorflow
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's INFO and WARNING lines at run time
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError):  # no stderr to tidy up
        import tensorflow

        return tensorflow
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow

            tensorflow.config.list_physical_devices()  # cuInit's error, if any, now and not at the first op
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode(errors="replace").splitlines(True) if not noise(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
    return tensorflow
