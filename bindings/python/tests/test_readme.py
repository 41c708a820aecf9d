"""The README's example runs as written (so the documentation cannot drift
from the API)."""

import os
import re

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


def test_readme_example_runs(capsys):
    with open(README, encoding="utf-8") as f:
        code = re.search(r"```python\n(.*?)```", f.read(), re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.split("\n")
    assert out[:3] == ["submitted 1", "submitted 2", "deployed 1"]
    assert "blocked 2" in out and "cpu 2000" in out
