"""Names a package imports only when first used (PEP 562), so `import keras_bert_zoo` stays cheap.

Example:
>>> getattr_, dir_ = lazy_names("json", {"loads": "json"})
>>> getattr_("loads")('{"a": 1}')
{'a': 1}
"""

import importlib
import sys


def lazy_names(package, names):
    """`(__getattr__, __dir__)` for `package`, whose `names` map each name to the module that holds it
    (a name equal to its module's last part is the module itself)."""
    def __getattr__(name):
        module_name = names.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(module_name)
        value = module if module_name == f"{package}.{name}" else getattr(module, name)
        setattr(sys.modules[package], name, value)  # later uses skip __getattr__
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
