"""The docs keep up with the code: every public op is in the catalog, the README starts
with the two commands, and the code blocks of the README tour run."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np

import graphflow as gf
import graphflow.ops as ops

ROOT = Path(__file__).resolve().parents[1]


def test_every_public_op_is_in_the_catalog():
    text = (ROOT / "docs" / "ops.md").read_text()
    public = [n for n in ops.__all__ if callable(getattr(ops, n)) and not isinstance(getattr(ops, n), type)]
    public += [f"nn.{n}" for n in dir(gf.nn) if not n.startswith("_") and inspect.isfunction(getattr(gf.nn, n))]
    missing = [n for n in public if not re.search(rf"\b{n.split('.')[-1]}\b", text)]
    assert not missing, f"docs/ops.md does not mention: {missing}"


def test_readme_starts_with_the_two_commands():
    lines = [ln for ln in (ROOT / "README.md").read_text().splitlines() if ln.strip()]
    commands = [ln.split("#")[0].strip() for ln in lines[1:3]]
    assert lines[0].startswith("```") and commands == ["make demo", "make test"]
    assert lines[3].startswith("```")


def test_readme_tour_runs():
    code = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)[0]
    code = code.replace("range(200)", "range(60)").replace("print(", "(")
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    np.testing.assert_allclose(scope["w"].get_value(), [2.0, -3.4, 1.7], atol=0.05)
