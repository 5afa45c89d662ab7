"""Saving a model as a `.keras` file without holding its weights in memory.

Keras' `model.save("x.keras")` writes the weights' .h5 into an `io.BytesIO` whenever it judges memory
sufficient, then copies that buffer into the zip: for MiniLM with its AdamW slots a 270 MB buffer, the
training job's peak memory (issue 16). `save_keras` writes the same archive (the same members, in Keras'
order, uncompressed as Keras writes them) from Keras' own unzipped save on disk, streamed into the zip.

Example:
>>> import keras, tempfile, pathlib
>>> model = keras.Sequential([keras.Input([2]), keras.layers.Dense(1)])
>>> path = pathlib.Path(tempfile.mkdtemp()) / "model.keras"
>>> save_keras(model, path)
>>> keras.saving.load_model(path).count_params()
3
"""

import os
import tempfile
import zipfile
from pathlib import Path

# The members Keras writes first, in its order; the weights and assets follow.
_FIRST = ("metadata.json", "config.json", "model.weights.h5")


def save_keras(model, path):
    """Writes `model` (with its optimizer, as `model.save` does) to the `.keras` file `path`, replacing it."""
    path = Path(path).absolute()  # Keras drops the assets of a relative unzipped save (the vocabulary: lost)
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=path.parent) as folder:
        model.save(folder, zipped=False)
        names = sorted((file.relative_to(folder).as_posix() for file in Path(folder).rglob("*") if file.is_file()),
                       key=lambda name: (_FIRST.index(name) if name in _FIRST else len(_FIRST), name))
        with zipfile.ZipFile(path, "w") as archive:
            for name in names:
                archive.write(Path(folder) / name, name)  # read and written in chunks
                os.remove(Path(folder) / name)  # its disk space back as soon as it is in the zip
