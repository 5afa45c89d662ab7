"""A SavedModel loaded the way TF Serving loads it, to check an export before shipping it.

The model server loads a version with the TF1 loader (`tf.compat.v1.saved_model.loader.load`
into a session) and runs a signature by feeding and fetching its tensor names; `ServedModel`
does the same, so what runs here runs there.

Example:
>>> with ServedModel("saved_models/sst2/1") as served:  # doctest: +SKIP
...     served(text=["a great movie"])["label"]
array([b'positive'], dtype=object)
"""

import tensorflow as tf


class ServedModel:
    """`served(signature_name="serving_default", **inputs)` -> dict of numpy outputs.

    `signatures` maps each signature name to its `SignatureDef` (inputs, outputs, tensor names).
    """

    def __init__(self, path, tags=("serve",)):
        self._session = tf.compat.v1.Session(graph=tf.Graph())
        with self._session.graph.as_default():
            meta_graph = tf.compat.v1.saved_model.loader.load(self._session, list(tags), str(path))
        self.signatures = dict(meta_graph.signature_def)

    def __call__(self, signature_name="serving_default", **inputs):
        if signature_name not in self.signatures:
            raise KeyError(f"No signature {signature_name!r}; the model has {sorted(self.signatures)}.")
        signature = self.signatures[signature_name]
        if sorted(inputs) != sorted(signature.inputs):
            raise ValueError(f"Signature {signature_name!r} takes {sorted(signature.inputs)}, got {sorted(inputs)}.")
        feed = {signature.inputs[name].name: value for name, value in inputs.items()}
        fetch = {name: output.name for name, output in signature.outputs.items()}
        return self._session.run(fetch, feed)

    def close(self):
        self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
