"""README's Quickstart runs as written (real all-MiniLM-L6-v2 weights)."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).parents[1] / "README.md"


@pytest.mark.slow
def test_quickstart_runs(tmp_path, monkeypatch):
    quickstart = README.read_text().split("## Quickstart", 1)[1]
    code = re.search(r"```python\n(.*?)```", quickstart, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README.md Quickstart", "exec"), namespace)
    assert namespace["logits"].shape == (1, 2)
    same = namespace["same"]
    assert type(same).__name__ == "BertClassifier" and same.label_names == ["negative", "positive"]
    np.testing.assert_allclose(np.asarray(same(namespace["inputs"])), np.asarray(namespace["logits"]), atol=1e-5)
