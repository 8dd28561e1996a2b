"""The examples run, at small size, as a user runs them (a fresh interpreter each)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name, *args):
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                          text=True, timeout=120, cwd=EXAMPLES.parent)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def fell(output):
    a, b = re.search(r"fell from ([\d.]+) to ([\d.]+)", output).groups()
    return float(a), float(b)


def test_graph_basics():
    out = run_example("graph_basics.py")
    assert "sum0 = [4 6], sum1 = [3 7]" in out  # the seed note's np.sum example
    assert "rows sum to [1. 1.]" in out
    assert "matches the textbook (p - t)/n: True" in out


def test_linear_regression_loss_falls():
    out = run_example("linear_regression.py", "--steps", "40")
    first, last = fell(out)
    assert last < first / 10
    assert len(re.findall(r"^step ", out, re.M)) >= 5


def test_logistic_regression_cost_falls_and_accuracy_rises():
    out = run_example("logistic_regression.py", "--steps", "30")
    first, last = fell(out)
    assert last < first * 0.6
    accuracy = [float(a) for a in re.findall(r"train accuracy ([\d.]+)", out)]
    assert accuracy[-1] > 0.8 > accuracy[0]
    assert float(re.search(r"test accuracy ([\d.]+)", out).group(1)) > 0.8


def test_every_script_a_user_runs_has_a_shebang_and_its_run_bit():
    """examples/, tools/, the benchmarks and the GPU check run as ``./script`` (git keeps
    the bit: mode 100755)."""
    import os
    root = EXAMPLES.parent
    scripts = [*EXAMPLES.glob("*.py"), *(root / "tools").glob("*.py"), *(root / "tests" / "benchmarks").glob("bench_*.py"),
               root / "tests" / "gpu" / "run_catalog.py", root / "tests" / "gpu" / "vgg_check.py",
               root / "tests" / "gpu_check.sh"]
    assert len(scripts) > 15
    for script in scripts:
        assert script.read_text().startswith("#!/usr/bin/env "), script
        assert os.stat(script).st_mode & 0o111 == 0o111, f"{script} has no run bit (chmod +x)"
