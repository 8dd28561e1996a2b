"""The layer arrows of docs/DESIGN.md, enforced by reading every import with ``ast``.

graph imports nothing of ours; ops -> graph; autodiff -> graph, ops; compiler -> graph,
ops; runtime -> graph, ops, compiler; viz -> graph (+ runtime.Function); distributed ->
graph, ops, runtime; keras -> only the public ``graphflow`` package, and inside keras
its backend (``K``: ``keras/backend*.py``) sits below everything else of keras. The core
never imports a backend. Imports inside functions count too; the one licensed exception is
Tensor's lazy import of ops.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "graphflow"

# layer -> the graphflow layers it may import (besides itself)
ALLOWED = {
    "utils": set(),
    "graph": {"utils"},
    "ops": {"graph", "utils"},
    "autodiff": {"graph", "ops", "utils"},
    "compiler": {"graph", "ops", "utils"},
    "runtime": {"graph", "ops", "compiler", "utils"},
    "viz": {"graph", "utils"},
    "distributed": {"graph", "ops", "runtime", "utils"},
}
BACKENDS = ("graphflow_numpy", "graphflow_cupy", "cupy", "cupyx")
LICENSED = {("graphflow/graph/tensor.py", "graphflow.ops")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, text: str):
    """(line, target module, imported names or None) for every import in the file."""
    mod = module_name(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    for node in ast.walk(ast.parse(text, str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            yield node.lineno, target, [a.name for a in node.names]


def layer_of(target: str, names) -> list[str]:
    """The graphflow layers an import reaches (``from graphflow import ops`` reaches ops)."""
    if target == "graphflow":
        subs = [n for n in names or [] if (PKG / n).is_dir() or (PKG / f"{n}.py").exists()]
        return subs or ["<public>"]
    if target.startswith("graphflow."):
        return [target.split(".")[1]]
    return []


def core_files():
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def violations_for(path: Path, text: str | None = None) -> list[str]:
    parts = path.relative_to(PKG).parts
    layer = parts[0] if len(parts) > 1 else None
    found = []
    for line, target, names in imports(path, path.read_text() if text is None else text):
        where = f"{rel(path)}:{line} imports {target}" + (f" ({', '.join(names)})" if names else "")
        if target.split(".")[0] in BACKENDS:
            found.append(f"{where}: the core never imports a backend (use the entry-point registry)")
            continue
        if (rel(path), target) in LICENSED:
            continue
        if layer == "keras":
            if not (target in ("graphflow", "graphflow.utils") or target.startswith("graphflow.keras")):
                if target.startswith("graphflow."):
                    found.append(f"{where}: keras uses only the public `graphflow` package")
            continue
        if layer not in ALLOWED:
            continue  # graphflow/__init__.py and graphflow/testing.py sit on top
        for reached in layer_of(target, names):
            if reached == layer:
                continue
            if layer == "viz" and reached == "runtime" and names == ["Function"]:
                continue
            if reached not in ALLOWED[layer]:
                found.append(f"{where}: {layer} may import only {sorted(ALLOWED[layer]) or 'nothing of ours'}")
    return found


def test_layers_import_only_downwards():
    problems = [v for p in core_files() for v in violations_for(p)]
    assert not problems, "layer arrows broken:\n" + "\n".join(problems)


# runtime: its Backend protocol and kernel tables; distributed: the collectives' exchange (MPI)
BACKEND_ALLOWED = {"graph", "ops", "utils", "runtime", "distributed"}


def backend_violations(path: Path, text: str | None = None) -> list[str]:
    """A backend builds on the IR, the op catalog, utils and the runtime's protocol; it
    never reaches the compiler, viz or keras (the compiler hands it what it needs)."""
    found = []
    for line, target, names in imports(path, path.read_text() if text is None else text):
        reached = layer_of(target, names) if target.startswith("graphflow") else []
        for layer in reached:
            if layer not in BACKEND_ALLOWED:
                found.append(f"{rel(path)}:{line} imports {target}: a backend may import only "
                             f"{sorted(BACKEND_ALLOWED)}")
    return found


def test_backends_import_only_the_protocol_and_below():
    files = sorted(p for p in (ROOT / "backends").rglob("*.py") if "__pycache__" not in p.parts)
    problems = [v for p in files for v in backend_violations(p)]
    assert not problems, "backend arrows broken:\n" + "\n".join(problems)
    planted = backend_violations(ROOT / "backends" / "graphflow_numpy" / "probe.py",
                                 "from graphflow.compiler import fusion\n")
    assert len(planted) == 1 and "may import only" in planted[0]


def test_tensor_reaches_ops_only_lazily():
    """The licensed upward reference must stay inside a function, never at module load."""
    tree = ast.parse((PKG / "graph" / "tensor.py").read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    for n in top:
        target = n.module if isinstance(n, ast.ImportFrom) else n.names[0].name
        assert not (target or "").startswith("graphflow"), f"tensor.py:{n.lineno} imports {target} at load"


@pytest.mark.parametrize("source, expected", [
    ("from ..ops import add\n", "graph may import only"),
    ("from .. import runtime\n", "graph may import only"),
    ("def f():\n    import graphflow.runtime\n", "graph may import only"),
    ("import graphflow_numpy\n", "never imports a backend"),
])
def test_checker_catches_bad_imports(source, expected):
    """The scanner itself works: a planted bad import in the graph layer is reported."""
    problems = violations_for(PKG / "graph" / "probe.py", source)
    assert len(problems) == 1 and expected in problems[0]


def is_keras_backend(module: str) -> bool:
    """``graphflow.keras.backend`` and its sibling modules ``backend_*`` (K's parts)."""
    return module.startswith("graphflow.keras.backend")


def keras_backend_violations(path: Path, text: str | None = None) -> list[str]:
    """K sits below the rest of keras: a ``keras/backend*.py`` module imports the public
    ``graphflow`` package, ``graphflow.utils`` and other parts of K, never the engine,
    layers, models or anything else of keras (the engine registers what K needs of it)."""
    found = []
    for line, target, names in imports(path, path.read_text() if text is None else text):
        if not target.startswith("graphflow.keras"):
            continue
        reached = [target] if target != "graphflow.keras" else [f"graphflow.keras.{n}" for n in names or []]
        for module in reached:
            if not is_keras_backend(module):
                found.append(f"{rel(path)}:{line} imports {module}: the keras backend (K) may import only "
                             f"graphflow, graphflow.utils and graphflow.keras.backend*")
    return found


def test_keras_backend_sits_below_the_keras_engine():
    files = sorted((PKG / "keras").glob("backend*.py"))
    assert {"backend.py", "backend_graph.py", "backend_math.py"} <= {p.name for p in files}
    problems = [v for p in files for v in keras_backend_violations(p)]
    assert not problems, "keras backend arrows broken:\n" + "\n".join(problems)


@pytest.mark.parametrize("source, bad", [
    ("from .engine.network import Network\n", 1),
    ("def f():\n    from .engine.node import KerasTensor\n", 1),
    ("from . import layers, backend_config\n", 1),
    ("from . import backend_config as _config\nfrom .backend_math import mean\nimport graphflow as gf\n", 0),
])
def test_checker_keras_backend_rule(source, bad):
    assert len(keras_backend_violations(PKG / "keras" / "backend_probe.py", source)) == bad


def test_checker_keras_and_viz_rules():
    keras = PKG / "keras" / "probe.py"
    src = "from ..ops import nn\nimport graphflow\nfrom graphflow import function\nfrom . import layers\n"
    problems = violations_for(keras, src)
    assert len(problems) == 1 and "graphflow.ops" in problems[0]
    viz = PKG / "viz" / "probe.py"
    assert violations_for(viz, "from ..runtime import Function\nfrom ..graph import toposort\n") == []
    assert len(violations_for(viz, "from ..runtime import function\n")) == 1
