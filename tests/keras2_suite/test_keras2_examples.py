"""Keras 2.0.6's own recurrent examples (``addition_rnn.py``, ``mnist_irnn.py``,
``mnist_hierarchical_rnn.py``), run against graphflow.keras by import swap, as the unit
tests are (test_keras2_suite.py: the same ``keras`` shim, the same fetched sources; no
copy is kept here; skipped, saying why, where the sources cannot be had).

Each runs at a small size: the edits below only shrink the data and the epochs (MNIST is
the bundled 5,000-digit sample). Nothing else of the example is changed, and it must
finish without an error and print its final score.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import keras2_source  # noqa: E402

_MNIST = r"\((\w+), (\w+)\), \((\w+), (\w+)\) = mnist\.load_data\(\)"


def _first(n, m):
    """Keep the first n training and m test digits, whatever the example names them."""
    def replace(match):
        a, b, c, d = match.groups()
        return f"{match.group(0)}\n{a}, {b}, {c}, {d} = {a}[:{n}], {b}[:{n}], {c}[:{m}], {d}[:{m}]"
    return replace


# example -> [(pattern, replacement)], applied with re.subn; each must match
EDITS = {
    "examples/addition_rnn.py": [
        (r"TRAINING_SIZE = \d+", "TRAINING_SIZE = 2000"),
        (r"for iteration in range\(1, \d+\):", "for iteration in range(1, 3):"),
    ],
    "examples/mnist_irnn.py": [
        (r"epochss? = \d+", lambda m: m.group(0).split("=")[0] + "= 1"),
        (_MNIST, _first(256, 64)),
    ],
    "examples/mnist_hierarchical_rnn.py": [
        (r"epochs = \d+", "epochs = 1"),
        (_MNIST, _first(256, 64)),
    ],
}
FINAL_LINE = {"examples/addition_rnn.py": r"Iteration 2", "examples/mnist_irnn.py": r"IRNN test accuracy:",
              "examples/mnist_hierarchical_rnn.py": r"Test accuracy:"}


def edited(source, edits, name):
    for pattern, replacement in edits:
        source, n = re.subn(pattern, replacement, source)
        if n == 0:
            raise AssertionError(f"{name}: the size edit {pattern!r} matched nothing: is this the 2.0.6 example?")
    return source


@pytest.fixture(scope="module")
def keras2_root():
    try:
        return keras2_source.sources()
    except keras2_source.Unavailable as err:
        pytest.skip(f"Keras 2.0.6's sources are not available here: {err}")


@pytest.mark.slow
@pytest.mark.parametrize("example", sorted(EDITS))
def test_keras2_example_runs(keras2_root, example, tmp_path):
    test_utils, root = keras2_root
    path = root / example
    if not path.is_file():
        pytest.skip(f"{example} is not in {root}")
    shim = tmp_path / "shim" / "keras"
    shim.mkdir(parents=True)
    shutil.copy(HERE / "shim_init.py", shim / "__init__.py")
    script = tmp_path / Path(example).name
    script.write_text(edited(path.read_text(), EDITS[example], example))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(shim.parent), os.environ.get("PYTHONPATH", "")]),
               GRAPHFLOW_KERAS2_TEST_UTILS=str(test_utils), HOME=str(tmp_path), MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(FINAL_LINE[example], done.stdout), done.stdout[-2000:]
