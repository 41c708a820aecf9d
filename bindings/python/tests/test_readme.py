"""The README's example runs as written (so the documentation cannot drift
from the API)."""

import os
import re

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


def examples():
    with open(README, encoding="utf-8") as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


def test_readme_example_runs(capsys):
    code = examples()[0]
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.split("\n")
    assert out[:3] == ["submitted 1", "submitted 2", "deployed 1"]
    assert "blocked 2" in out and "cpu 2000" in out


def test_readme_persistence_example_runs(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # it creates jobq.db
    code = examples()[1]
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.split("\n")
    assert out[0] == "{'position': 0, 'length': 3, 'ahead': 0}"
    assert "read-only" in out[1]
