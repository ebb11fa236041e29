"""The README's Python examples run as written: the docs match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_examples_run(monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(README.parent)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own documentation
    assert {"baseline", "summer"} <= namespace.keys()


@pytest.mark.parametrize("command", ["make run", "make test"])
def test_readme_quick_start_names_the_two_commands(command):
    quick_start = README.read_text().split("## Quick start", 1)[1].split("##", 1)[0]
    assert command in quick_start
    if command == "make test":
        assert (README.parent / ".ci" / "run").read_text().strip().endswith("make test")
